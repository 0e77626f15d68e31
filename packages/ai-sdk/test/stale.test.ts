// Stale serving through the middleware, with ai@7's mock models: stale-if-error answers a failed provider call with
// the expired entry (marked stale), stale-while-revalidate answers at once and refreshes once per key.
import type { LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { createCache, type ErrorEvent, isLlmemoError, type ResponseCache } from '@llmemo/core';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheMiddleware } from '../src/index.js';
import { CALL, generateResult, readAll, textParts, withoutCacheInfo } from './fixtures.js';

type Part = LanguageModelV4StreamPart;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { statusCode: status });

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

/**
 * A model whose answers the test switches: `answer` is the text of the next answers, `failure` (when set) makes
 * doGenerate and doStream reject with it, `parts` (when set) replaces the next streams' parts.
 */
function switchable() {
  const state: { answer: string; failure?: unknown; parts?: () => Part[] } = { answer: 'first answer' };
  const base = new MockLanguageModelV4({
    doGenerate: async () => {
      if (state.failure) throw state.failure;
      return generateResult([{ type: 'text', text: state.answer }]);
    },
    doStream: async () => {
      if (state.failure) throw state.failure;
      return { stream: convertArrayToReadableStream(state.parts ? state.parts() : textParts(state.answer)) };
    },
  });
  return { base, state };
}

function setup(base: MockLanguageModelV4, options: Parameters<typeof createCache>[0] = {}) {
  const cache = createCache({ ttl: 60, ...options });
  caches.push(cache);
  const errors: ErrorEvent[] = [];
  cache.on('error', (event) => errors.push(event));
  const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
  return { cache, model, errors };
}

const info = (parts: Part[]) =>
  (parts.at(-1) as { providerMetadata?: { llmemo?: Record<string, unknown> } }).providerMetadata?.llmemo;
const textOf = (parts: Part[]) => parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');

/** Stores the first answer with a stream, then lets it expire. */
async function expired(model: ReturnType<typeof setup>['model'], cache: ResponseCache) {
  await readAll((await model.doStream(CALL)).stream);
  await cache.flush();
  await sleep(100);
}

describe('stale-if-error', () => {
  it('generateText: a transient provider failure is answered by the expired entry, marked stale', async () => {
    const { base, state } = switchable();
    const { cache, model, errors } = setup(base, { staleIfError: '1m' });
    await generateText({ model, prompt: 'q' });
    await cache.flush();
    await sleep(100);
    state.failure = httpError(503);
    const stale = await generateText({ model, prompt: 'q', maxRetries: 0 });
    expect(stale.text).toBe('first answer');
    expect(stale.providerMetadata?.llmemo).toEqual({
      hit: true,
      stale: true,
      age: expect.any(Number),
      key: expect.any(String),
    });
    expect(errors.map((event) => [event.operation, event.error.code])).toEqual([['compute', 'PROVIDER_FAILED']]);
    // A rejected request is the caller's problem: never covered.
    state.failure = httpError(400);
    await expect(generateText({ model, prompt: 'q', maxRetries: 0 })).rejects.toThrow('HTTP 400');
    expect(cache.stats().staleHits).toBe(1);
  });

  it('per call, through providerOptions.llmemo.staleIfError; a bad value fails before the provider is called', async () => {
    const { base, state } = switchable();
    const { cache, model } = setup(base);
    const llmemo = { staleIfError: '1m' };
    await generateText({ model, prompt: 'q', providerOptions: { llmemo } });
    await cache.flush();
    await sleep(100);
    state.failure = httpError(500);
    // Without the option the error goes through…
    await expect(generateText({ model, prompt: 'q', maxRetries: 0 })).rejects.toThrow('HTTP 500');
    // …with it, the expired entry answers: generate and stream.
    const generated = await generateText({ model, prompt: 'q', maxRetries: 0, providerOptions: { llmemo } });
    expect(generated.providerMetadata?.llmemo).toMatchObject({ hit: true, stale: true });
    const streamed = streamText({ model, prompt: 'q', maxRetries: 0, providerOptions: { llmemo } });
    expect(await streamed.text).toBe('first answer');
    expect((await streamed.providerMetadata)?.llmemo).toMatchObject({ hit: true, stale: true });
    const calls = base.doGenerateCalls.length + base.doStreamCalls.length;
    await expect(
      generateText({ model, prompt: 'q', providerOptions: { llmemo: { staleIfError: 'soon' } } }),
    ).rejects.toSatisfy((error) => isLlmemoError(error, 'INVALID_OPTIONS'));
    expect(base.doGenerateCalls.length + base.doStreamCalls.length).toBe(calls);
  });

  it('stream: doStream rejecting with a transient error replays the expired entry, marked stale', async () => {
    const { base, state } = switchable();
    const { cache, model, errors } = setup(base, { staleIfError: '1m' });
    await expired(model, cache);
    state.failure = httpError(429);
    const replay = await readAll((await model.doStream(CALL)).stream);
    expect(withoutCacheInfo(replay)).toEqual(textParts('first answer'));
    expect(info(replay)).toEqual({ hit: true, stale: true, age: expect.any(Number), key: expect.any(String) });
    expect(errors).toHaveLength(1);
    // streamText: the same, through the SDK.
    const result = streamText({
      model,
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      maxRetries: 0,
    });
    expect(await result.text).toBe('first answer');
    expect((await result.providerMetadata)?.llmemo).toMatchObject({ hit: true, stale: true });
  });

  it.each([
    [
      'the stream errors after the preamble',
      (error: unknown) =>
        textParts('x')
          .slice(0, 1)
          .concat([{ type: 'error', error } as Part]),
    ],
    ['an error part comes first', (error: unknown) => [{ type: 'error', error } as Part, ...textParts('junk')]],
  ])('stream: %s, before any content: the expired entry answers', async (_name, broken) => {
    const { base, state } = switchable();
    const { cache, model } = setup(base, { staleIfError: '1m' });
    await expired(model, cache);
    state.parts = () => broken(httpError(502));
    const replay = await readAll((await model.doStream(CALL)).stream);
    expect(textOf(replay)).toBe('first answer');
    expect(info(replay)).toMatchObject({ hit: true, stale: true });
  });

  it('stream: a source that throws before any content (a cut connection) is answered by the expired entry', async () => {
    const { base } = switchable();
    const { cache, model } = setup(base, { staleIfError: '1m' });
    await expired(model, cache);
    // What @ai-sdk/openai throws when the connection drops mid-body: an APICallError with the 200 it had received
    // and the network failure as its cause.
    const cut = Object.assign(new Error('Failed to process successful response'), {
      statusCode: 200,
      cause: Object.assign(new TypeError('terminated'), { cause: { code: 'UND_ERR_SOCKET' } }),
    });
    base.doStream = async () => ({
      stream: new ReadableStream<Part>({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] });
        },
        pull(controller) {
          controller.error(cut);
        },
      }),
    });
    const replay = await readAll((await model.doStream(CALL)).stream);
    expect(textOf(replay)).toBe('first answer');
    expect(info(replay)).toMatchObject({ hit: true, stale: true });
  });

  it('stream: a failure after content reached the caller goes through (an answer is never swapped mid-way)', async () => {
    const { base, state } = switchable();
    const { cache, model } = setup(base, { staleIfError: '1m' });
    await expired(model, cache);
    const error = httpError(503);
    state.parts = () => [...textParts('new words').slice(0, 4), { type: 'error', error } as Part];
    const parts = await readAll((await model.doStream(CALL)).stream);
    expect(parts.map((part) => part.type)).toEqual([
      'stream-start',
      'response-metadata',
      'text-start',
      'text-delta',
      'error',
    ]);
    await cache.flush();
    expect(cache.stats().staleHits).toBe(0);
  });

  it('outside the window the error reaches the caller, generate and stream', async () => {
    const { base, state } = switchable();
    const { cache, model } = setup(base, { staleIfError: 50 });
    await expired(model, cache);
    await sleep(60);
    state.failure = httpError(500);
    await expect(
      generateText({ model, prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], maxRetries: 0 }),
    ).rejects.toThrow('HTTP 500');
    await expect(model.doStream(CALL)).rejects.toThrow('HTTP 500');
  });
});

describe('stale-while-revalidate', () => {
  it('stream: concurrent callers get the expired entry at once; one background stream refreshes it', async () => {
    const { base, state } = switchable();
    const { cache, model } = setup(base, { staleWhileRevalidate: '1m' });
    await expired(model, cache);
    state.answer = 'second answer';
    // The refreshed entry takes the ttl of the call that started the refresh: long enough not to expire mid-test.
    const call = { ...CALL, providerOptions: { llmemo: { ttl: '1h' } } };
    const replays = await Promise.all([1, 2, 3, 4].map(async () => readAll((await model.doStream(call)).stream)));
    for (const replay of replays) {
      expect(textOf(replay)).toBe('first answer');
      expect(info(replay)).toMatchObject({ hit: true, stale: true });
    }
    await cache.flush();
    expect(base.doStreamCalls).toHaveLength(2);
    // The refreshed entry is a recorded stream: it replays word by word, fresh.
    const fresh = await readAll((await model.doStream(CALL)).stream);
    expect(withoutCacheInfo(fresh)).toEqual(textParts('second answer'));
    expect(info(fresh)).toMatchObject({ hit: true });
    expect(info(fresh)?.stale).toBeUndefined();
    // The background refresh did not carry a caller's abortSignal.
    expect(base.doStreamCalls[1]?.abortSignal).toBeUndefined();
  });

  it('generateText: served stale at once, refreshed by one background call', async () => {
    const { base, state } = switchable();
    const { cache, model } = setup(base, { staleWhileRevalidate: '1m' });
    await generateText({ model, prompt: 'q' });
    await cache.flush();
    await sleep(100);
    state.answer = 'second answer';
    const controller = new AbortController();
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        generateText({
          model,
          prompt: 'q',
          abortSignal: controller.signal,
          providerOptions: { llmemo: { ttl: '1h' } },
        }),
      ),
    );
    // The caller that started the refresh leaves: the refresh carries on.
    controller.abort();
    for (const result of results) {
      expect(result.text).toBe('first answer');
      expect(result.providerMetadata?.llmemo).toMatchObject({ hit: true, stale: true });
    }
    await cache.flush();
    expect(base.doGenerateCalls).toHaveLength(2);
    const fresh = await generateText({ model, prompt: 'q' });
    expect(fresh.text).toBe('second answer');
    expect(fresh.providerMetadata?.llmemo).toMatchObject({ hit: true });
  });
});
