// embeddingCacheMiddleware end to end: real @ai-sdk/openai embeddings against the local server, on SQLite and
// Redis. Request bodies show which values were sent.
import { isLlmemoError, type ResponseCache } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import { embeddingFor } from '@llmemo/test-support/openai';
import { embed, embedMany, wrapEmbeddingModel } from 'ai';
import { MockEmbeddingModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheEmbeddingModel, embeddingCacheMiddleware } from '../src/index.js';
import { closeCaches, newCache, PERSISTENT_STORES, provider } from './helpers.js';

const server = useOpenAITestServer();
afterEach(closeCaches);

const PATH = '/v1/embeddings';

function sentInputs(): unknown[] {
  return server.requestsTo(PATH).map((request) => (request.body as { input: unknown }).input);
}

describe.each(PERSISTENT_STORES)('embeddingCacheMiddleware on %s', (store) => {
  function setup(cache: ResponseCache = newCache(store)) {
    const model = wrapEmbeddingModel({
      model: provider(server).embedding('text-embedding-3-small'),
      middleware: embeddingCacheMiddleware({ cache }),
    });
    return { cache, model };
  }

  it('embed: a miss calls the provider, the repeat is a hit with the same vector', async () => {
    const { cache, model } = setup();
    const first = await embed({ model, value: 'hello world' });
    await cache.flush();
    const second = await embed({ model, value: 'hello world' });
    expect(second.embedding).toEqual(first.embedding);
    expect(second.embedding).toEqual(embeddingFor('hello world', 8));
    expect(server.count(PATH)).toBe(1);
    expect(first.usage.tokens).toBe(2);
    expect(second.usage.tokens).toBe(0);
    expect(first.providerMetadata?.llmemo).toEqual({ hit: false, hits: 0, misses: 1 });
    expect(second.providerMetadata?.llmemo).toEqual({ hit: true, hits: 1, misses: 0 });
    expect(cache.stats().tokensSaved.input).toBe(2);
  });

  it('embedMany sends only the values not cached, once each, and keeps the original order', async () => {
    const { cache, model } = setup();
    await embedMany({ model, values: ['alpha', 'beta'] });
    await cache.flush();
    const values = ['gamma', 'alpha', 'delta', 'gamma', 'beta'];
    const result = await embedMany({ model, values });
    expect(sentInputs()).toEqual([
      ['alpha', 'beta'],
      ['gamma', 'delta'],
    ]);
    expect(result.embeddings).toEqual(values.map((value) => embeddingFor(value, 8)));
    expect(result.providerMetadata?.llmemo).toEqual({ hit: false, hits: 2, misses: 3 });
    await cache.flush();
    const all = await embedMany({ model, values });
    expect(all.embeddings).toEqual(result.embeddings);
    expect(server.count(PATH)).toBe(2);
  });

  it('keys model settings: another dimensions value is another entry', async () => {
    const { cache, model } = setup();
    const small = await embed({ model, value: 'x', providerOptions: { openai: { dimensions: 4 } } });
    await cache.flush();
    const large = await embed({ model, value: 'x', providerOptions: { openai: { dimensions: 16 } } });
    await cache.flush();
    const again = await embed({ model, value: 'x', providerOptions: { openai: { dimensions: 4 } } });
    expect(small.embedding).toHaveLength(4);
    expect(large.embedding).toHaveLength(16);
    expect(again.embedding).toEqual(small.embedding);
    expect(server.count(PATH)).toBe(2);
  });

  it("per-call options: a bad one fails before the provider is called; mode 'replay' never calls it", async () => {
    const { model } = setup();
    const bad = await embed({ model, value: 'x', providerOptions: { llmemo: { ttl: 'soon' } } }).catch(
      (e: unknown) => e,
    );
    expect(isLlmemoError(bad, 'INVALID_OPTIONS')).toBe(true);
    const missing = await embedMany({
      model,
      values: ['never stored'],
      providerOptions: { llmemo: { mode: 'replay' } },
    }).catch((e: unknown) => e);
    expect(isLlmemoError(missing, 'CACHE_MISS')).toBe(true);
    expect(server.count(PATH)).toBe(0);
  });

  it('a provider error is not cached', async () => {
    const { cache, model } = setup();
    server.failNext(1, { status: 500, match: PATH });
    await expect(embed({ model, value: 'fail', maxRetries: 0 })).rejects.toMatchObject({ statusCode: 500 });
    await cache.flush();
    expect((await embed({ model, value: 'fail' })).embedding).toEqual(embeddingFor('fail', 8));
    expect(server.count(PATH)).toBe(2);
  });
});

describe('cacheEmbeddingModel (the wrapper for ai@5, which has no embedding middleware)', () => {
  it('caches through a wrapped model object and keeps its identity', async () => {
    const cache = newCache('memory');
    const base = new MockEmbeddingModelV4({
      maxEmbeddingsPerCall: 5,
      doEmbed: async ({ values }) => ({
        embeddings: values.map((value) => [value.length]),
        usage: { tokens: 1 },
        warnings: [],
      }),
    });
    const model = cacheEmbeddingModel(base, { cache });
    expect([model.provider, model.modelId, model.maxEmbeddingsPerCall]).toEqual([base.provider, base.modelId, 5]);
    await embedMany({ model, values: ['a', 'bb'] });
    await cache.flush();
    const result = await embedMany({ model, values: ['bb', 'ccc', 'a'] });
    expect(result.embeddings).toEqual([[2], [3], [1]]);
    expect(base.doEmbedCalls.map((call) => call.values)).toEqual([['a', 'bb'], ['ccc']]);
  });
});
