// Stale-while-revalidate through the real provider: once an entry expired (and within the window), concurrent
// callers are answered at once from it, marked stale, and exactly one background request refreshes it; the next
// call is a fresh hit with the new answer. For generateText and streamText.

import { storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { generateText, streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { RESPONSES, sleep, useHarness } from './helpers.js';

const CALLERS = 20;

const { server, harness } = useHarness();

const llmemo = (metadata: unknown) => (metadata as { llmemo?: Record<string, unknown> } | undefined)?.llmemo;

describe.each(['sqlite', 'redis'] as const)('stale-while-revalidate on %s', (store) => {
  function setup() {
    const made = harness({
      store: storeUrl(store),
      namespace: uniqueNamespace('swr'),
      timeoutMs: 2000,
      ttl: 100,
      staleWhileRevalidate: '1m',
    });
    return made;
  }
  // The refreshed entry takes the ttl of the call that started the refresh: long enough not to expire mid-test.
  const keep = { llmemo: { ttl: '1h' } };

  it('generateText: stale answers at once, one background request, then the fresh answer', async () => {
    const { cache, model } = setup();
    const prompt = `swr generate ${store}`;
    server.script({ text: 'the old answer' });
    await generateText({ model, prompt });
    await cache.flush();
    await sleep(150);
    server.script({ text: 'the new answer' });
    const results = await Promise.all(
      Array.from({ length: CALLERS }, () => generateText({ model, prompt, providerOptions: keep })),
    );
    for (const result of results) {
      expect(result.text).toBe('the old answer');
      expect(llmemo(result.providerMetadata)).toMatchObject({ hit: true, stale: true });
    }
    await cache.flush();
    expect(server.count(RESPONSES)).toBe(2);
    const fresh = await generateText({ model, prompt });
    expect(fresh.text).toBe('the new answer');
    expect(llmemo(fresh.providerMetadata)).toMatchObject({ hit: true });
    expect(llmemo(fresh.providerMetadata)?.stale).toBeUndefined();
    expect(server.count(RESPONSES)).toBe(2);
  });

  it('streamText: stale replays at once, one background stream, then the fresh answer replayed word by word', async () => {
    const { cache, model } = setup();
    const prompt = `swr stream ${store}`;
    server.script({ text: 'the old streamed answer' });
    await streamText({ model, prompt }).text;
    await cache.flush();
    await sleep(150);
    server.script({ text: 'the new streamed answer' });
    const calls = Array.from({ length: CALLERS }, () => streamText({ model, prompt, providerOptions: keep }));
    for (const call of calls) {
      expect(await call.text).toBe('the old streamed answer');
      expect(llmemo(await call.providerMetadata)).toMatchObject({ hit: true, stale: true });
    }
    await cache.flush();
    expect(server.count(RESPONSES)).toBe(2);
    expect(server.requestsTo(RESPONSES)[1]?.body).toMatchObject({ stream: true });
    const fresh = streamText({ model, prompt });
    const deltas: string[] = [];
    for await (const delta of fresh.textStream) deltas.push(delta);
    expect(deltas).toEqual(['the', ' new', ' streamed', ' answer']);
    expect(llmemo(await fresh.providerMetadata)).toMatchObject({ hit: true });
    expect(server.count(RESPONSES)).toBe(2);
  });
});
