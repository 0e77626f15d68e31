// Type-checked (not run) by the compat suite's tsc test: the middleware is ai@5's LanguageModelMiddleware and
// composes with the SDK's own middlewares; the embedding wrapper is an ai@5 embedding model.
import { createOpenAI } from '@ai-sdk/openai';
import { cacheEmbeddingModel, cacheMiddleware } from '@llmemo/ai-sdk';
import { createCache } from '@llmemo/core';
import { defaultSettingsMiddleware, type EmbeddingModel, type LanguageModelMiddleware, wrapLanguageModel } from 'ai';

const cache = createCache();
const openai = createOpenAI({ apiKey: 'test' });

export const middleware: LanguageModelMiddleware = cacheMiddleware({ cache });
const model = wrapLanguageModel({
  model: openai('gpt-4o-mini'),
  middleware: [
    defaultSettingsMiddleware({ settings: { temperature: 0 } }),
    cacheMiddleware({ cache, replay: 'recorded' }),
  ],
});
export const embeddings: EmbeddingModel<string> = cacheEmbeddingModel(openai.embedding('text-embedding-3-small'), {
  cache,
});

// Referenced so the compositions are checked; their inferred types name version-specific packages.
export const compositions: unknown[] = [model];
