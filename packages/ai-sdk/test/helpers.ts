import { createOpenAI } from '@ai-sdk/openai';
import { type CacheOptions, createCache, type ResponseCache } from '@llmemo/core';
import { type StoreKind, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import type { OpenAITestServer } from '@llmemo/test-support/openai';
import { type LanguageModel, wrapLanguageModel } from 'ai';
import { type CacheMiddlewareOptions, cacheMiddleware } from '../src/index.js';

/** The stores the end-to-end suites run on. */
export const PERSISTENT_STORES = ['sqlite', 'redis'] as const satisfies readonly StoreKind[];

const caches: ResponseCache[] = [];

/** A cache on a fresh SQLite file or the shared Redis, in a namespace no other test uses. */
export function newCache(kind: StoreKind, options: CacheOptions = {}): ResponseCache {
  const cache = createCache({
    store: storeUrl(kind),
    namespace: uniqueNamespace('ai-sdk'),
    timeoutMs: 2000,
    ...options,
  });
  caches.push(cache);
  return cache;
}

export async function closeCaches(): Promise<void> {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
}

export function provider(server: OpenAITestServer) {
  return createOpenAI({ baseURL: server.url, apiKey: 'test' });
}

export function cached(
  model: LanguageModel,
  cache: ResponseCache,
  options: Omit<CacheMiddlewareOptions, 'cache'> = {},
): LanguageModel {
  return wrapLanguageModel({ model: model as never, middleware: cacheMiddleware({ cache, ...options }) });
}

/** `providerMetadata.llmemo` of a result or a promise of one. */
export function llmemoOf(providerMetadata: unknown): { hit: boolean; age: number; key?: string } | undefined {
  return (providerMetadata as { llmemo?: { hit: boolean; age: number; key?: string } } | undefined)?.llmemo;
}

export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}
