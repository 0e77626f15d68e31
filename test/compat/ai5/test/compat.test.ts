// The shared AI SDK scenarios (test/compat/shared) against ai@5 and its @ai-sdk/openai.
import { createOpenAI } from '@ai-sdk/openai';
import { cacheEmbeddingModel, cacheMiddleware, embeddingCacheMiddleware, imageCacheMiddleware } from '@llmemo/ai-sdk';
import { createCache } from '@llmemo/core';
import { storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { createOpenAITestServer } from '@llmemo/test-support/openai';
import * as ai from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compatSuite } from '../../shared/suite.js';

compatSuite({
  vitest: { describe, it, beforeAll, afterAll, beforeEach, expect },
  kit: {
    ai,
    createOpenAI,
    z,
    llmemo: { cacheMiddleware, embeddingCacheMiddleware, imageCacheMiddleware, cacheEmbeddingModel },
    createCache,
    spec: 'v2',
  },
  createServer: () => createOpenAITestServer(),
  storeUrl,
  uniqueNamespace,
  tsconfig: new URL('../tsconfig.json', import.meta.url),
});
