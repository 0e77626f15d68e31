// Every path that takes a cache miss ends it, so a store swap (useStore, the proxy's reload) never waits its drain
// timeout (30 s by default) for a lookup nobody will commit. Each test makes the call, then swaps the store with the
// default drain timeout: the swap must be prompt (the test timeout is far below 30 s, so a held miss fails it).

import { Embeddings } from '@langchain/core/embeddings';
import { tool } from '@langchain/core/tools';
import type { ResponseCache } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CachedEmbeddings, LlmemoCache, withCache } from '../src/index.js';
import {
  CHAT_PATH,
  chatModel,
  collect,
  EMBEDDINGS_PATH,
  embeddingsModel,
  useCaches,
  useOpenAIServer,
} from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();
const FAST = { timeout: 8000 };

/** Swaps to a new store with the default drain timeout; it must not wait for a held lookup. */
async function expectPromptSwap(cache: ResponseCache): Promise<void> {
  const started = performance.now();
  await cache.useStore('memory://');
  expect(performance.now() - started).toBeLessThan(2000);
}

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'weather',
  description: 'Weather for a city',
  schema: z.object({ city: z.string() }),
});

describe.each(['sqlite', 'redis'] as const)('LlmemoCache ends its misses on %s', (kind) => {
  it('a miss answered by the provider (stored through update)', FAST, async () => {
    const cache = await makeCache(kind);
    const model = chatModel(ctx.server, { cache: new LlmemoCache({ cache }) });
    expect((await model.invoke('swap after a miss')).content).toBe('Echo: swap after a miss');
    await expectPromptSwap(cache);
    // The answer was stored in the store it was read from; the new store misses and calls the provider again.
    await model.invoke('swap after a miss');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('a miss whose provider call failed (LangChain never calls update)', FAST, async () => {
    const cache = await makeCache(kind);
    const model = chatModel(ctx.server, { cache: new LlmemoCache({ cache }) });
    ctx.server.failNext(1, { status: 500 });
    await expect(model.invoke('fails')).rejects.toThrow();
    await expectPromptSwap(cache);
  });

  it('an answer storeToolCalls keeps out', FAST, async () => {
    const cache = await makeCache(kind);
    const model = chatModel(ctx.server, { cache: new LlmemoCache({ cache, storeToolCalls: false }) });
    ctx.server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }] });
    await model.bindTools([weather]).invoke('weather?');
    await expectPromptSwap(cache);
  });
});

describe.each(['sqlite', 'redis'] as const)('withCache streams end their misses on %s', (kind) => {
  async function cached(options: { storeToolCalls?: boolean } = {}) {
    const cache = await makeCache(kind);
    return { cache, model: withCache(chatModel(ctx.server), { cache, ...options }) };
  }

  it('a complete stream (committed)', FAST, async () => {
    const { cache, model } = await cached();
    await collect(await model.stream('whole stream'));
    await expectPromptSwap(cache);
  });

  it('a stream cut by the network', FAST, async () => {
    const { cache, model } = await cached();
    ctx.server.cutNextStream({ afterChunks: 2 });
    await expect(collect(await model.stream('one two three four'))).rejects.toThrow();
    await expectPromptSwap(cache);
  });

  it('a stream whose provider call failed', FAST, async () => {
    const { cache, model } = await cached();
    ctx.server.failNext(1, { status: 500 });
    await expect((async () => collect(await model.stream('fails to start')))()).rejects.toThrow();
    await expectPromptSwap(cache);
  });

  it('a stream the consumer stops reading', FAST, async () => {
    const { cache, model } = await cached();
    for await (const _chunk of await model.stream('stop early please')) break;
    await expectPromptSwap(cache);
  });

  it('an aborted stream', FAST, async () => {
    const { cache, model } = await cached();
    ctx.server.setLatency({ perTokenMs: 20 });
    const controller = new AbortController();
    const stream = await model.stream('abort me now please', { signal: controller.signal });
    await expect(
      (async () => {
        let seen = 0;
        for await (const _chunk of stream) if (++seen === 2) controller.abort();
      })(),
    ).rejects.toThrow();
    ctx.server.setLatency({});
    await expectPromptSwap(cache);
  });

  it('a streamEvents() run that fails', FAST, async () => {
    const { cache, model } = await cached();
    ctx.server.cutNextStream({ afterChunks: 2 });
    await expect(model.streamEvents('cut events')).rejects.toThrow();
    await expectPromptSwap(cache);
  });

  it('a streamed answer storeToolCalls keeps out (skipped)', FAST, async () => {
    const { cache, model } = await cached({ storeToolCalls: false });
    ctx.server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }] });
    await collect(await model.bindTools!([weather]).stream('weather?'));
    await expectPromptSwap(cache);
  });
});

/** Embeddings that answer one vector too few, breaking the one-vector-per-text contract. */
class ShortEmbeddings extends Embeddings {
  constructor() {
    super({});
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.slice(1).map((text) => [text.length]);
  }
  async embedQuery(text: string): Promise<number[]> {
    return [text.length];
  }
}

describe.each(['sqlite', 'redis'] as const)('CachedEmbeddings ends its misses on %s', (kind) => {
  it('documents embedded and stored, with a text repeated', FAST, async () => {
    const cache = await makeCache(kind);
    const embeddings = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server), cache });
    await embeddings.embedDocuments(['a', 'b', 'a']);
    await expectPromptSwap(cache);
  });

  it('a provider that throws', FAST, async () => {
    const cache = await makeCache(kind);
    const embeddings = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server), cache });
    ctx.server.failNext(1, { status: 500, match: EMBEDDINGS_PATH });
    await expect(embeddings.embedDocuments(['x', 'y'])).rejects.toThrow();
    await expectPromptSwap(cache);
  });

  it('a provider that breaks the one-vector-per-text contract', FAST, async () => {
    const cache = await makeCache(kind);
    const embeddings = new CachedEmbeddings({ embeddings: new ShortEmbeddings(), cache });
    expect(await embeddings.embedDocuments(['a', 'bb'])).toEqual([[2]]);
    await expectPromptSwap(cache);
  });

  it('embedQuery, answered and failing', FAST, async () => {
    const cache = await makeCache(kind);
    const embeddings = new CachedEmbeddings({ embeddings: embeddingsModel(ctx.server), cache });
    await embeddings.embedQuery('query');
    ctx.server.failNext(1, { status: 500, match: EMBEDDINGS_PATH });
    await expect(embeddings.embedQuery('failing query')).rejects.toThrow();
    await expectPromptSwap(cache);
  });
});
