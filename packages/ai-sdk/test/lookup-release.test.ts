// Every path that takes a cache miss ends it, so a store swap (useStore) never waits its drain timeout (30 s by
// default) for a lookup nobody will commit. Each test makes the call, then swaps the store with the default drain
// timeout: the swap must be prompt (the test timeout is far below 30 s, so a held miss fails it).
import type { ResponseCache } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import { embedMany, streamText, tool, wrapEmbeddingModel } from 'ai';
import { MockEmbeddingModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cacheEmbeddingModel, embeddingCacheMiddleware } from '../src/index.js';
import { cached, closeCaches, newCache, PERSISTENT_STORES, provider } from './helpers.js';

const server = useOpenAITestServer();
afterEach(closeCaches);
const FAST = { timeout: 8000 };

/** Swaps to a new store with the default drain timeout; it must not wait for a held lookup. */
async function expectPromptSwap(cache: ResponseCache): Promise<void> {
  const started = performance.now();
  await cache.useStore('memory://');
  expect(performance.now() - started).toBeLessThan(2000);
}

describe.each(PERSISTENT_STORES)('embeddings end their misses on %s', (store) => {
  function setup() {
    const cache = newCache(store);
    const model = wrapEmbeddingModel({
      model: provider(server).embedding('text-embedding-3-small'),
      middleware: embeddingCacheMiddleware({ cache }),
    });
    return { cache, model };
  }

  it('a batch with a value repeated (its second lookup shares the first one’s slot)', FAST, async () => {
    const { cache, model } = setup();
    const result = await embedMany({ model, values: ['a', 'b', 'a'] });
    expect(result.embeddings[2]).toEqual(result.embeddings[0]);
    await expectPromptSwap(cache);
  });

  it('a provider call that fails', FAST, async () => {
    const { cache, model } = setup();
    server.failNext(1, { status: 500, match: '/v1/embeddings' });
    await expect(embedMany({ model, values: ['x', 'y'], maxRetries: 0 })).rejects.toThrow();
    await expectPromptSwap(cache);
  });

  it('a provider that breaks the one-embedding-per-value contract', FAST, async () => {
    const cache = newCache(store);
    const base = new MockEmbeddingModelV4({
      doEmbed: async ({ values }) => ({
        embeddings: values.slice(1).map(() => [1]),
        usage: { tokens: 1 },
        warnings: [],
      }),
    });
    const model = cacheEmbeddingModel(base, { cache });
    expect((await model.doEmbed({ values: ['a', 'bb'] })).embeddings).toHaveLength(1);
    await expectPromptSwap(cache);
  });
});

const tools = { weather: tool({ description: 'Weather for a city', inputSchema: z.object({ city: z.string() }) }) };

describe.each(PERSISTENT_STORES)('streams end their misses on %s', (store) => {
  function setup(storeToolCalls?: boolean) {
    const cache = newCache(store);
    const options = storeToolCalls === undefined ? {} : { storeToolCalls };
    return { cache, model: cached(provider(server).chat('gpt-4o-mini'), cache, options) };
  }

  it('a complete stream (committed)', FAST, async () => {
    const { cache, model } = setup();
    expect(await streamText({ model, prompt: 'whole' }).text).toBe('Echo: whole');
    await expectPromptSwap(cache);
  });

  it('a provider call that fails before the stream starts', FAST, async () => {
    const { cache, model } = setup();
    server.failNext(1, { status: 500 });
    await streamText({ model, prompt: 'fails', maxRetries: 0, onError: () => {} }).consumeStream();
    await expectPromptSwap(cache);
  });

  it('a stream cut mid-way', FAST, async () => {
    const { cache, model } = setup();
    server.cutNextStream({ afterChunks: 4 });
    await streamText({ model, prompt: 'one two three four', maxRetries: 0, onError: () => {} }).consumeStream();
    await expectPromptSwap(cache);
  });

  it('an aborted stream', FAST, async () => {
    const { cache, model } = setup();
    server.setLatency({ perTokenMs: 15 });
    const controller = new AbortController();
    const aborted = streamText({ model, prompt: 'one two three four', abortSignal: controller.signal });
    try {
      for await (const _delta of aborted.textStream) controller.abort();
    } catch {
      // ai@5 and ai@6 throw the abort; ai@7 ends the text stream quietly.
    }
    server.setLatency({});
    await expectPromptSwap(cache);
  });

  it('identical streams at once: the followers of the shared provider stream', FAST, async () => {
    const { cache, model } = setup();
    server.setLatency({ firstTokenMs: 30, perTokenMs: 5 });
    const texts = await Promise.all([1, 2, 3].map(() => streamText({ model, prompt: 'together' }).text));
    server.setLatency({});
    expect(texts).toEqual(['Echo: together', 'Echo: together', 'Echo: together']);
    expect(server.count('/v1/chat/completions')).toBe(1);
    await expectPromptSwap(cache);
  });

  it('an answer storeToolCalls keeps out (skipped)', FAST, async () => {
    const { cache, model } = setup(false);
    server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] });
    const result = streamText({ model, prompt: 'weather?', tools });
    await result.consumeStream();
    await result.toolCalls;
    await expectPromptSwap(cache);
  });
});
