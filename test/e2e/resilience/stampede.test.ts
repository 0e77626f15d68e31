// Stampede: 500 identical concurrent misses make exactly one provider request, for generateText and streamText,
// and every caller gets the whole answer. The server holds its answer until every caller has looked the cache up
// and missed, so the in-flight registry (not the store) is what dedupes.

import type { ResponseCache } from '@llmemo/core';
import { storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { generateText, streamText } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echo, gate, harness, RESPONSES, until } from './helpers.js';

const CALLERS = 500;

let server: OpenAITestServer;
const caches: ResponseCache[] = [];

beforeAll(async () => {
  server = await createOpenAITestServer();
});
afterAll(async () => {
  await server?.close();
});
afterEach(async () => {
  server.reset();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

const llmemo = (metadata: unknown) =>
  (metadata as { llmemo?: { hit: boolean; coalesced?: boolean } } | undefined)?.llmemo;

describe.each(['memory', 'redis'] as const)('500 identical concurrent misses on %s', (store) => {
  function setup() {
    const { cache, model } = harness(server, {
      store: storeUrl(store),
      namespace: uniqueNamespace('stampede'),
      timeoutMs: 2000,
    });
    caches.push(cache);
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
