// Replay pacing, on fake timers: no timing is measured, the schedule is checked step by step.
import { createCache } from '@llmemo/core';
import { simulateReadableStream, wrapLanguageModel } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheMiddleware, type ReplayPacing } from '../src/index.js';
import { replayStream } from '../src/replay-stream.js';
import { CALL, readAll, textParts } from './fixtures.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

// stream-start, text-start, 3 deltas, text-end, finish
const PARTS = textParts('a b c').filter((part) => part.type !== 'response-metadata');

/** Reads parts as they come, noting the fake clock at each. */
function track(stream: ReadableStream<{ type: string }>) {
  const seen: { type: string; at: number }[] = [];
  const start = performance.now();
  const reader = stream.getReader();
  const done = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen.push({ type: value.type, at: Math.round(performance.now() - start) });
    }
  })();
  return { seen, done, reader };
}

describe('replayStream', () => {
  it("'instant' hands over every part with no timer", async () => {
    const { seen, done } = track(replayStream(PARTS, [0, 5, 10, 15, 20, 25, 30], 'instant'));
    expect(vi.getTimerCount()).toBe(0);
    await done;
    expect(seen.map((part) => part.at)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("'recorded' plays each part at its recorded offset", async () => {
    const at = [40, 40, 100, 130, 200, 200, 210];
    const { seen, done } = track(replayStream(PARTS, at, 'recorded'));
    await vi.advanceTimersByTimeAsync(39);
    expect(seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.map((part) => part.type)).toEqual(['stream-start', 'text-start']);
    await vi.advanceTimersByTimeAsync(59);
    expect(seen).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(200);
    await done;
    expect(seen.map((part) => part.at)).toEqual(at);
  });

  it("'recorded' without timing (an entry stored by generateText) plays instantly", async () => {
    const { seen, done } = track(replayStream(PARTS, undefined, 'recorded'));
    await done;
    expect(seen).toHaveLength(PARTS.length);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('{ delayMs } spaces the parts evenly, the first at once', async () => {
    const { seen, done } = track(replayStream(PARTS, undefined, { delayMs: 10 }));
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(seen.map((part) => part.at)).toEqual([0, 10, 20, 30, 40, 50, 60]);
  });

  it('cancelling a paced replay clears its timer and ends cleanly', async () => {
    const { seen, reader } = track(replayStream(PARTS, undefined, { delayMs: 1000 }));
    await vi.advanceTimersByTimeAsync(1500);
    expect(seen).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(1);
    await reader.cancel();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen).toHaveLength(2);
  });
});

describe("cacheMiddleware({ replay: 'recorded' })", () => {
  it('records offsets on the miss (time to first part included) and replays with them', async () => {
    const base = new MockLanguageModelV4({
      doStream: async () => ({
        stream: simulateReadableStream({ chunks: textParts('a b c'), initialDelayInMs: 300, chunkDelayInMs: 25 }),
      }),
    });
    const cache = createCache();
    const pacings: ReplayPacing[] = ['recorded', 'instant'];
    const [recorded, instant] = pacings.map((replay) =>
      wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache, replay }) }),
    );
    const miss = track((await recorded!.doStream(CALL)).stream);
    await vi.advanceTimersByTimeAsync(1000);
    await miss.done;
    await cache.flush();
    const expected = [300, 325, 350, 375, 400, 425, 450, 475];
    expect(miss.seen.map((part) => part.at)).toEqual(expected);

    const hit = track((await recorded!.doStream(CALL)).stream);
    await vi.advanceTimersByTimeAsync(299);
    expect(hit.seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    await hit.done;
    expect(hit.seen.map((part) => part.at)).toEqual(expected);

    const fast = await readAll((await instant!.doStream(CALL)).stream);
    expect(fast).toHaveLength(expected.length);
    expect(base.doStreamCalls).toHaveLength(1);
  });
});
