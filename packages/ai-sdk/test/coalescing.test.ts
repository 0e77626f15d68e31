// Stream coalescing at the middleware level, with ai@7's mock models driven by hand: identical concurrent misses
// share one provider stream; failures reach every caller and are not stored; one caller leaving (the first one
// included) does not stop the others; when every caller has left, the provider stream is cancelled.
import type { LanguageModelV4CallOptions, LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { createCache, type ResponseCache } from '@llmemo/core';
import { generateText, wrapLanguageModel } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheMiddleware } from '../src/index.js';
import { CALL, generateResult, readAll, textParts, withoutCacheInfo } from './fixtures.js';

type Part = LanguageModelV4StreamPart;

/** A provider stream the test drives: push parts, end or fail it; records a cancel. */
function source() {
  let controller!: ReadableStreamDefaultController<Part>;
  const state = { cancelled: false };
  const stream = new ReadableStream<Part>(
    {
      start(c) {
        controller = c;
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    state,
    push: (...parts: Part[]) => {
      for (const part of parts) controller.enqueue(part);
    },
    end: () => controller.close(),
    fail: (error: unknown) => controller.error(error),
  };
}

/** A model whose every doStream returns the next prepared source, recording the params it was called with. */
function driven() {
  const sources: ReturnType<typeof source>[] = [];
  const calls: LanguageModelV4CallOptions[] = [];
  const base = new MockLanguageModelV4({
    doStream: async (options) => {
      calls.push(options);
      const next = source();
      sources.push(next);
      return { stream: next.stream };
    },
  });
  return { base, sources, calls };
}

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function setup(base: MockLanguageModelV4, options: Parameters<typeof createCache>[0] = {}) {
  const cache = createCache(options);
  caches.push(cache);
  const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
  return { cache, model };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Reads a stream to its end, settling with the parts or the error (never rejecting). */
async function settle(stream: ReadableStream<Part>): Promise<{ parts: Part[]; error?: unknown }> {
  const parts: Part[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { parts };
      parts.push(value);
    }
  } catch (error) {
    return { parts, error };
  }
}

const llmemo = (parts: Part[]) =>
  (parts.at(-1) as { providerMetadata?: { llmemo?: Record<string, unknown> } }).providerMetadata?.llmemo;

describe('stream coalescing', () => {
  it('identical concurrent misses make one provider call; late joiners get the parts seen so far, then the live ones', async () => {
    const { base, sources } = driven();
    const { cache, model } = setup(base);
    const parts = textParts('one two three four');
    const first = await Promise.all([1, 2, 3].map(() => model.doStream(CALL)));
    expect(sources).toHaveLength(1);
    const reads = first.map((result) => settle(result.stream));
    sources[0]!.push(...parts.slice(0, 3));
    await tick();
    // Joins mid-way: it must still see the whole answer.
    const late = await model.doStream(CALL);
    const lateRead = settle(late.stream);
    sources[0]!.push(...parts.slice(3));
    sources[0]!.end();
    const results = [...(await Promise.all(reads)), await lateRead];
    expect(base.doStreamCalls).toHaveLength(1);
    for (const result of results) {
      expect(result.error).toBeUndefined();
      expect(withoutCacheInfo(result.parts)).toEqual(parts);
    }
    expect(results.map((result) => llmemo(result.parts)?.coalesced ?? false)).toEqual([false, true, true, true]);
    expect(results.every((result) => llmemo(result.parts)?.hit === false)).toBe(true);
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
    const hit = await readAll((await model.doStream(CALL)).stream);
    expect(llmemo(hit)).toMatchObject({ hit: true });
    expect(base.doStreamCalls).toHaveLength(1);
  });

  it('500 concurrent identical misses make exactly one provider call, and every caller gets the whole answer', async () => {
    const base = new MockLanguageModelV4({
      doStream: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return {
          stream: convertArrayToReadableStream(textParts('all of it')),
        };
      },
    });
    const { cache, model } = setup(base);
    const results = await Promise.all(
      Array.from({ length: 500 }, async () => readAll((await model.doStream(CALL)).stream)),
    );
    expect(base.doStreamCalls).toHaveLength(1);
    for (const parts of results) expect(withoutCacheInfo(parts)).toEqual(textParts('all of it'));
    await cache.flush();
    expect(cache.stats()).toMatchObject({ misses: 500, writes: 1 });
  });

  it('a provider stream that errors reaches every caller with the same error, and nothing is stored', async () => {
    const { base, sources } = driven();
    const { cache, model } = setup(base);
    const results = await Promise.all([1, 2, 3].map(() => model.doStream(CALL)));
    const reads = results.map((result) => settle(result.stream));
    sources[0]!.push(...textParts('half an answer').slice(0, 4));
    // (A stream that errors drops what it still queues, so the parts are read before it fails.)
    await tick();
    const failure = new Error('socket hang up');
    sources[0]!.fail(failure);
    for (const result of await Promise.all(reads)) {
      expect(result.error).toBe(failure);
      expect(result.parts.map((part) => part.type)).toEqual([
        'stream-start',
        'response-metadata',
        'text-start',
        'text-delta',
      ]);
    }
    await cache.flush();
    expect(cache.stats().writes).toBe(0);
    // The failed flight is gone: the next call asks the provider again.
    const retry = model.doStream(CALL);
    await tick();
    expect(sources).toHaveLength(2);
    sources[1]!.push(...textParts('fine now'));
    sources[1]!.end();
    expect(withoutCacheInfo(await readAll((await retry).stream))).toEqual(textParts('fine now'));
  });

  it('an error part reaches every caller, and nothing is stored', async () => {
    const { base, sources } = driven();
    const { cache, model } = setup(base);
    const results = await Promise.all([1, 2].map(() => model.doStream(CALL)));
    const reads = results.map((result) => settle(result.stream));
    const parts = [
      ...textParts('oops').slice(0, 3),
      { type: 'error', error: 'overloaded' } as Part,
      textParts('x').at(-1)!,
    ];
    sources[0]!.push(...parts);
    sources[0]!.end();
    for (const result of await Promise.all(reads)) {
      expect(result.parts.find((part) => part.type === 'error')).toEqual({ type: 'error', error: 'overloaded' });
    }
    await cache.flush();
    expect(cache.stats().writes).toBe(0);
  });

  it('doStream rejecting reaches every caller with the same error after one provider call', async () => {
    let calls = 0;
    const failure = Object.assign(new Error('Bad request'), { statusCode: 400 });
    const base = new MockLanguageModelV4({
      doStream: async () => {
        calls++;
        await tick();
        throw failure;
      },
    });
    const { model } = setup(base);
    const results = await Promise.allSettled([1, 2, 3].map(() => model.doStream(CALL)));
    expect(calls).toBe(1);
    expect(results.map((result) => (result.status === 'rejected' ? result.reason : result.status))).toEqual([
      failure,
      failure,
      failure,
    ]);
  });

  it('a follower that cancels does not stop the leader or the other followers', async () => {
    const { base, sources } = driven();
    const { cache, model } = setup(base);
    const [leader, quitter, stayer] = await Promise.all([1, 2, 3].map(() => model.doStream(CALL)));
    const parts = textParts('a b c d');
    const leaderRead = settle(leader!.stream);
    const stayerRead = settle(stayer!.stream);
    const reader = quitter!.stream.getReader();
    sources[0]!.push(...parts.slice(0, 2));
    await reader.read();
    await reader.cancel();
    sources[0]!.push(...parts.slice(2));
    sources[0]!.end();
    expect(withoutCacheInfo((await leaderRead).parts)).toEqual(parts);
    expect(withoutCacheInfo((await stayerRead).parts)).toEqual(parts);
    expect(sources[0]!.state.cancelled).toBe(false);
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
  });

  it("the leader's abortSignal stops only the leader: the provider call never carries it", async () => {
    const { base, sources, calls } = driven();
    const { cache, model } = setup(base);
    const controller = new AbortController();
    const leader = await model.doStream({ ...CALL, abortSignal: controller.signal });
    const follower = await model.doStream(CALL);
    expect(calls[0]!.abortSignal).not.toBe(controller.signal);
    const leaderRead = settle(leader.stream);
    const followerRead = settle(follower.stream);
    const parts = textParts('still going');
    sources[0]!.push(...parts.slice(0, 2));
    await tick();
    controller.abort(new DOMException('user left', 'AbortError'));
    sources[0]!.push(...parts.slice(2));
    sources[0]!.end();
    const stopped = await leaderRead;
    expect((stopped.error as DOMException).message).toBe('user left');
    expect(withoutCacheInfo((await followerRead).parts)).toEqual(parts);
    expect(calls[0]!.abortSignal?.aborted).toBe(false);
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
  });

  it('when every caller has left, the provider stream is cancelled and aborted, and nothing is stored', async () => {
    const { base, sources, calls } = driven();
    const { cache, model } = setup(base);
    const controller = new AbortController();
    const [one, two] = await Promise.all([
      model.doStream({ ...CALL, abortSignal: controller.signal }),
      model.doStream(CALL),
    ]);
    sources[0]!.push(...textParts('never finished').slice(0, 2));
    controller.abort();
    await two!.stream.cancel();
    await settle(one!.stream);
    await tick();
    expect(sources[0]!.state.cancelled).toBe(true);
    expect(calls[0]!.abortSignal?.aborted).toBe(true);
    await cache.flush();
    expect(cache.stats().writes).toBe(0);
  });

  it('a caller that aborts before the provider answered gets its abort; the others still get the answer', async () => {
    let release!: () => void;
    const opened = new Promise<void>((resolve) => {
      release = resolve;
    });
    const base = new MockLanguageModelV4({
      doStream: async () => {
        await opened;
        return {
          stream: convertArrayToReadableStream(textParts('slow')),
        };
      },
    });
    const { model } = setup(base);
    const controller = new AbortController();
    const impatient = model.doStream({ ...CALL, abortSignal: controller.signal });
    const patient = model.doStream(CALL);
    await tick();
    controller.abort(new Error('gave up'));
    await expect(impatient).rejects.toThrow('gave up');
    release();
    expect(withoutCacheInfo(await readAll((await patient).stream))).toEqual(textParts('slow'));
    expect(base.doStreamCalls).toHaveLength(1);
  });

  it('a caller whose cache read began before the write landed replays the recording; a later refresh asks again', async () => {
    // A Map-backed store whose next get can be held, like a slow read issued before the leader's write.
    const values = new Map<string, unknown>();
    let holdNext: Promise<void> | undefined;
    const store = {
      async get(key: string) {
        const hold = holdNext;
        holdNext = undefined;
        const read = values.get(key);
        if (hold) await hold;
        return read;
      },
      set: (key: string, value: unknown) => values.set(key, value),
      delete: (key: string) => values.delete(key),
      clear: () => values.clear(),
    };
    const { base, sources } = driven();
    const { cache, model } = setup(base, { store, timeoutMs: 5000 });
    const leader = settle((await model.doStream(CALL)).stream);
    let release!: () => void;
    holdNext = new Promise((resolve) => {
      release = resolve;
    });
    const racer = model.doStream(CALL);
    sources[0]!.push(...textParts('recorded once'));
    sources[0]!.end();
    expect(withoutCacheInfo((await leader).parts)).toEqual(textParts('recorded once'));
    await cache.flush();
    expect(values.size).toBe(1);
    // Its read saw no entry (it began before the write), yet the provider is not asked again.
    release();
    const raced = await settle((await racer).stream);
    expect(withoutCacheInfo(raced.parts)).toEqual(textParts('recorded once'));
    expect(llmemo(raced.parts)).toMatchObject({ hit: false, coalesced: true });
    expect(base.doStreamCalls).toHaveLength(1);
    // A read that begins after the write and still misses (here: mode 'refresh' skips it) gets a new call.
    const refreshed = model.doStream({ ...CALL, providerOptions: { llmemo: { mode: 'refresh' } } });
    await tick();
    expect(sources).toHaveLength(2);
    sources[1]!.push(...textParts('fresh one'));
    sources[1]!.end();
    expect(withoutCacheInfo((await settle((await refreshed).stream)).parts)).toEqual(textParts('fresh one'));
  });
});

describe('generate coalescing', () => {
  it('500 concurrent identical generateText misses make one provider call', async () => {
    const base = new MockLanguageModelV4({
      doGenerate: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return generateResult([{ type: 'text', text: 'shared' }]);
      },
    });
    const { cache } = setup(base);
    const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
    const results = await Promise.all(Array.from({ length: 500 }, () => generateText({ model, prompt: 'same' })));
    expect(base.doGenerateCalls).toHaveLength(1);
    expect(new Set(results.map((result) => result.text))).toEqual(new Set(['shared']));
  });

  it('a leader that aborts does not fail its followers: they ask again', async () => {
    let calls = 0;
    const base = new MockLanguageModelV4({
      doGenerate: async (options) => {
        calls++;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 30);
          options.abortSignal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(options.abortSignal?.reason);
          });
        });
        return generateResult([{ type: 'text', text: `answer ${calls}` }]);
      },
    });
    const { model } = setup(base);
    const controller = new AbortController();
    const leader = model.doGenerate({ ...CALL, abortSignal: controller.signal });
    const followers = [1, 2].map(() => model.doGenerate(CALL));
    await tick();
    controller.abort(new DOMException('closed the tab', 'AbortError'));
    await expect(leader).rejects.toThrow('closed the tab');
    const answers = await Promise.all(followers);
    expect(answers.map((answer) => (answer.content[0] as { text: string }).text)).toEqual(['answer 2', 'answer 2']);
    expect(calls).toBe(2);
  });
});
