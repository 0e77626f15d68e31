// A store that hangs: every operation never settles. Every call still succeeds through the provider; each store
// operation costs at most timeoutMs, and the circuit breaker stops calling the store after a few failures, so the
// number of store attempts stays bounded however many calls are made. The added latency per call (cached call
// minus the same call on the bare model) is measured and printed; it is reported, not asserted.
import { createServer, type Server, type Socket } from 'node:net';
import { createOpenAI } from '@ai-sdk/openai';
import type { CacheOptions, ResponseCache } from '@llmemo/core';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { generateText, type LanguageModel, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, harness, percentiles, RESPONSES } from './helpers.js';

const CALLS = 60;
const TIMEOUT_MS = 50;
const THRESHOLD = 5;

let server: OpenAITestServer;
let bare: LanguageModel;

beforeAll(async () => {
  server = await createOpenAITestServer();
  bare = createOpenAI({ baseURL: server.url, apiKey: 'test' })('gpt-4o-mini');
});
afterAll(async () => {
  await server?.close();
});

/** A Keyv storage adapter whose every operation never settles; counts the attempts. */
function hangingAdapter() {
  const attempts = { get: 0, set: 0, delete: 0 };
  const never = () => new Promise<never>(() => {});
  return {
    attempts,
    adapter: {
      get: () => {
        attempts.get++;
        return never();
      },
      set: () => {
        attempts.set++;
        return never();
      },
      delete: () => {
        attempts.delete++;
        return never();
      },
      clear: never,
    },
  };
}

/** A TCP server that accepts connections and never answers a byte: a Redis that hangs. */
async function blackHole(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const tcp: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const address = tcp.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    connections: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

/**
 * Runs CALLS calls one after another, alternating generateText and streamText with a new prompt each, timing each
 * on the cached model and on the bare model. Returns the added latency per call (ms) and checks every answer.
 */
async function measure(cached: LanguageModel, label: string): Promise<number[]> {
  const added: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const prompt = `${label} question ${i}`;
    const run = async (model: LanguageModel) => {
      const started = performance.now();
      const text =
        i % 2 === 0
          ? (await generateText({ model, prompt, maxRetries: 0 })).text
          : await streamText({ model, prompt, maxRetries: 0 }).text;
      return { text, ms: performance.now() - started };
    };
    const baseline = await run(bare);
    const withCache = await run(cached);
    expect(withCache.text).toBe(echo(prompt));
    expect(baseline.text).toBe(echo(prompt));
    added.push(withCache.ms - baseline.ms);
  }
  return added;
}

function report(label: string, added: number[], attempts: number, cache: ResponseCache) {
  const { p50, p99, max } = percentiles(added);
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  console.info(
    `[hanging store: ${label}] ${CALLS} calls, timeoutMs ${TIMEOUT_MS}: added latency p50 ${fmt(p50)}, p99 ${fmt(p99)}, max ${fmt(max)}; store attempts ${attempts}; breaker ${JSON.stringify(cache.stats().breaker)}`,
  );
}

const OPTIONS: CacheOptions = {
  timeoutMs: TIMEOUT_MS,
  // A cool-down longer than the test: once open, the store is not probed again here.
  breaker: { threshold: THRESHOLD, cooldown: '1m' },
};

describe('a store that hangs', () => {
  it('a Keyv adapter whose promises never settle: every call answers, store attempts stay bounded', async () => {
    const { adapter, attempts } = hangingAdapter();
    const { cache, model, errors } = harness(server, { ...OPTIONS, store: adapter });
    const before = server.count(RESPONSES);
    const added = await measure(model, 'keyv');
    await cache.flush();
    const total = attempts.get + attempts.set + attempts.delete;
    report('Keyv adapter', added, total, cache);
    // Each call reached the provider once (the baseline call is the other half of the count).
    expect(server.count(RESPONSES) - before).toBe(2 * CALLS);
    expect(cache.stats().breaker).toEqual({ state: 'open', opens: 1 });
    // The breaker opened after THRESHOLD consecutive timeouts; a write started just before may add one more.
    expect(total).toBeGreaterThanOrEqual(THRESHOLD);
    expect(total).toBeLessThanOrEqual(THRESHOLD + 1);
    expect(errors.every((event) => event.error.code === 'STORE_TIMEOUT')).toBe(true);
    await cache.close();
  });

  it('a Redis URL whose server accepts and never answers: every call answers, store attempts stay bounded', async () => {
    const hole = await blackHole();
    const { cache, model, errors } = harness(server, { ...OPTIONS, store: hole.url });
    const added = await measure(model, 'redis');
    await cache.flush();
    // Every failed store operation is one error event; once the breaker is open there are none.
    const attempts = errors.filter((event) => event.operation === 'get' || event.operation === 'set').length;
    report('Redis black hole', added, attempts, cache);
    expect(cache.stats().breaker).toEqual({ state: 'open', opens: 1 });
    expect(attempts).toBeGreaterThanOrEqual(THRESHOLD);
    expect(attempts).toBeLessThanOrEqual(THRESHOLD + 1);
    expect(hole.connections()).toBeGreaterThanOrEqual(1);
    await cache.close();
    await hole.close();
  });
});
