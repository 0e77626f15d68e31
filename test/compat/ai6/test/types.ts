// Type-checked (not run) by the compat suite's tsc test: each middleware is ai@6's middleware type and composes
// with the SDK's own middlewares.
import { createOpenAI } from '@ai-sdk/openai';
import { cacheMiddleware, embeddingCacheMiddleware, imageCacheMiddleware } from '@llmemo/ai-sdk';
import { createCache } from '@llmemo/core';
import {
  defaultSettingsMiddleware,
  type EmbeddingModelMiddleware,
  type ImageModelMiddleware,
  type LanguageModelMiddleware,
  wrapEmbeddingModel,
  wrapImageModel,
  wrapLanguageModel,
  wrapProvider,
} from 'ai';

const cache = createCache();
const openai = createOpenAI({ apiKey: 'test' });

export const middleware: LanguageModelMiddleware = cacheMiddleware({ cache });
export const embedding: EmbeddingModelMiddleware = embeddingCacheMiddleware({ cache });
export const image: ImageModelMiddleware = imageCacheMiddleware({ cache, maxImages: 2 });
const model = wrapLanguageModel({
  model: openai('gpt-4o-mini'),
  middleware: [
    defaultSettingsMiddleware({ settings: { temperature: 0 } }),
    cacheMiddleware({ cache, replay: { delayMs: 5 } }),
  ],
});
const embedder = wrapEmbeddingModel({ model: openai.embedding('text-embedding-3-small'), middleware: embedding });
const painter = wrapImageModel({ model: openai.image('gpt-image-1'), middleware: image });
const provider = wrapProvider({
  provider: openai,
  languageModelMiddleware: cacheMiddleware({ cache }),
  imageModelMiddleware: imageCacheMiddleware({ cache }),
});

// Referenced so the compositions are checked; their inferred types name version-specific packages.
export const compositions: unknown[] = [model, embedder, painter, provider];
