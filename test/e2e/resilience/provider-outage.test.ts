// Provider outage: the test server answers 500s, or is down. Stale-if-error answers with the expired entry inside
// its window (marked stale, the failure reported as an event) and lets the error through outside it, for
// generateText and streamText, on SQLite and Redis.

import type { CacheOptions } from '@llmemo/core';
import { storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { generateText, streamText } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { echo, RESPONSES, sleep, useHarness } from './helpers.js';

const { server, harness } = useHarness();
afterEach(async () => {
  await server.up();
});

const llmemo = (metadata: unknown) => (metadata as { llmemo?: Record<string, unknown> } | undefined)?.llmemo;

/** What a streamText call produced: its text, its llmemo metadata, or the error it failed with. */
async function streamed(result: ReturnType<typeof streamText>) {
  try {
    for await (const part of result.fullStream) if (part.type === 'error') return { error: part.error };
    return { text: await result.text, info: llmemo(await result.providerMetadata) };
  } catch (error) {
    return { error };
  }
}

/** For calls that fail on purpose: the test asserts the error, and streamText's default onError would print it. */
const expectedError = () => {};

const OUTAGES = [
  ['HTTP 500s', () => server.failNext(2, { status: 500 })],
  ['the server down', () => server.down()],
] as const;

describe.each(['sqlite', 'redis'] as const)('a provider outage, cache on %s', (store) => {
  function setup(options: CacheOptions) {
    const made = harness({
      store: storeUrl(store),
      namespace: uniqueNamespace('outage'),
      timeoutMs: 2000,
      ttl: 100,
      ...options,
    });
    return made;
  }

  /** Stores an answer for each prompt (one generated, one streamed), then waits until they expired. */
  async function expiredEntries(made: ReturnType<typeof setup>, prompts: { generate: string; stream: string }) {
    await generateText({ model: made.model, prompt: prompts.generate });
    await streamText({ model: made.model, prompt: prompts.stream }).text;
    await made.cache.flush();
    await sleep(150);
  }

  it.each(OUTAGES)('inside the window, %s are answered by the expired entries, marked stale', async (_name, outage) => {
    const made = setup({ staleIfError: '1m' });
    const prompts = { generate: `outage generate ${store}`, stream: `outage stream ${store}` };
    await expiredEntries(made, prompts);
    const before = server.count(RESPONSES);
    await outage();
    const generated = await generateText({ model: made.model, prompt: prompts.generate, maxRetries: 0 });
    expect(generated.text).toBe(echo(prompts.generate));
    expect(llmemo(generated.providerMetadata)).toEqual({
      hit: true,
      stale: true,
      age: expect.any(Number),
      key: expect.any(String),
    });
    const stream = await streamed(streamText({ model: made.model, prompt: prompts.stream, maxRetries: 0 }));
    expect(stream).toEqual({
      text: echo(prompts.stream),
      info: { hit: true, stale: true, age: expect.any(Number), key: expect.any(String) },
    });
    // The provider was really asked (and failed) each time: the stale answers cover failures, not hide calls.
    if (server.isUp) expect(server.count(RESPONSES)).toBe(before + 2);
    expect(made.errors.filter((event) => event.operation === 'compute')).toHaveLength(2);
    expect(made.cache.stats().staleHits).toBe(2);
  });

  it.each(OUTAGES)('outside the window, %s reach the caller', async (_name, outage) => {
    // The entries are kept (and served) for 200 ms past their expiry; after that the store has dropped them.
    const made = setup({ staleIfError: 200 });
    const prompts = { generate: `late generate ${store}`, stream: `late stream ${store}` };
    await expiredEntries(made, prompts);
    await sleep(250);
    await outage();
    await expect(generateText({ model: made.model, prompt: prompts.generate, maxRetries: 0 })).rejects.toThrow();
    const stream = await streamed(
      streamText({ model: made.model, prompt: prompts.stream, maxRetries: 0, onError: expectedError }),
    );
    expect(stream.error).toBeDefined();
    expect(made.cache.stats().staleHits).toBe(0);
  });

  it('per call: the window of providerOptions.llmemo.staleIfError decides, not only the cache default', async () => {
    const made = setup({});
    const prompt = `per-call window ${store}`;
    const keep = { llmemo: { staleIfError: '1m' } };
    await generateText({ model: made.model, prompt, providerOptions: keep });
    await made.cache.flush();
    await sleep(150);
    server.failNext(4, { status: 503 });
    // Without a window for this call the failure goes through; with one, the expired entry answers.
    await expect(generateText({ model: made.model, prompt, maxRetries: 0 })).rejects.toThrow();
    const generated = await generateText({ model: made.model, prompt, maxRetries: 0, providerOptions: keep });
    expect(llmemo(generated.providerMetadata)).toMatchObject({ hit: true, stale: true });
    expect(
      await streamed(streamText({ model: made.model, prompt, maxRetries: 0, providerOptions: keep })),
    ).toMatchObject({ text: echo(prompt), info: { hit: true, stale: true } });
    // A window shorter than the time since expiry does not cover it.
    const narrow = { llmemo: { staleIfError: 10 } };
    await expect(generateText({ model: made.model, prompt, maxRetries: 0, providerOptions: narrow })).rejects.toThrow();
  });

  it('a stream cut before any text is answered by the expired entry', async () => {
    const made = setup({ staleIfError: '1m' });
    const prompt = `cut stream ${store}`;
    await streamText({ model: made.model, prompt }).text;
    await made.cache.flush();
    await sleep(150);
    server.cutNextStream({ afterChunks: 1 });
    const stream = await streamed(streamText({ model: made.model, prompt, maxRetries: 0 }));
    expect(stream).toMatchObject({ text: echo(prompt), info: { hit: true, stale: true } });
  });
});
