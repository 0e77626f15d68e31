// Stampede: 500 identical concurrent misses make exactly one provider request, for generateText and streamText,
// and every caller gets the whole answer. The server holds its answer until every caller has looked the cache up
// and missed, so the in-flight registry (not the store) is what dedupes.

import { storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { generateText, streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { echo, gate, RESPONSES, until, useHarness } from './helpers.js';

const CALLERS = 500;

const { server, harness } = useHarness();

const llmemo = (metadata: unknown) =>
  (metadata as { llmemo?: { hit: boolean; coalesced?: boolean } } | undefined)?.llmemo;

describe.each(['memory', 'redis'] as const)('500 identical concurrent misses on %s', (store) => {
  function setup() {
    const { cache, model } = harness({
      store: storeUrl(store),
      namespace: uniqueNamespace('stampede'),
      // Generous: this file tests coalescing, not store timeouts. With 500 streams replaying on a loaded 2-core CI
      // machine, the one Redis write has been seen to take over 2 s, which timed out and left `writes` at 0.
      timeoutMs: 15_000,
    });
    return { cache, model };
  }

  it('generateText: one provider request, every caller gets the answer', async () => {
    const { cache, model } = setup();
    const held = gate(server);
    const prompt = `stampede generate on ${store}`;
    const calls = Array.from({ length: CALLERS }, () => generateText({ model, prompt, maxRetries: 0 }));
    await until(() => cache.stats().misses === CALLERS, `all ${CALLERS} callers missed`);
    held.open();
    const results = await Promise.all(calls);
    expect(server.count(RESPONSES)).toBe(1);
    expect(results.every((result) => result.text === echo(prompt))).toBe(true);
    expect(results.filter((result) => llmemo(result.providerMetadata)?.coalesced)).toHaveLength(CALLERS - 1);
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
    expect(llmemo((await generateText({ model, prompt })).providerMetadata)?.hit).toBe(true);
    expect(server.count(RESPONSES)).toBe(1);
  });

  it('streamText: one provider request, every caller gets the whole stream', async () => {
    const { cache, model } = setup();
    const held = gate(server);
    const prompt = `stampede stream on ${store}, several words long`;
    const calls = Array.from({ length: CALLERS }, () => streamText({ model, prompt, maxRetries: 0 }));
    await until(() => cache.stats().misses === CALLERS, `all ${CALLERS} callers missed`);
    held.open();
    const texts = await Promise.all(calls.map((call) => call.text));
    const metadata = await Promise.all(calls.map((call) => call.providerMetadata));
    expect(server.count(RESPONSES)).toBe(1);
    expect(texts.every((text) => text === echo(prompt))).toBe(true);
    expect(metadata.filter((meta) => llmemo(meta)?.coalesced)).toHaveLength(CALLERS - 1);
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
    expect(llmemo(await streamText({ model, prompt }).providerMetadata)?.hit).toBe(true);
    expect(server.count(RESPONSES)).toBe(1);
  });
});
