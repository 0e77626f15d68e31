import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CacheRequest, createCache, type ResponseCache } from '../src/index.js';

const req = (text: string, model = 'gpt-4o-mini'): CacheRequest => ({
  kind: 'chat',
  provider: 'p',
  model,
  input: text,
});
const usage = (inputTokens: number, outputTokens: number) => () => ({ usage: { inputTokens, outputTokens } });

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

const PRICES = { 'gpt-4o-mini': { input: 0.15, output: 0.6 }, 'gpt-4o': { input: 2.5, output: 10 } };

describe('tokens and money saved', () => {
  it('stats() sums tokens saved per model and prices them', async () => {
    const cache = createCache({ prices: PRICES });
    caches.push(cache);
    await cache.getOrCompute(req('a'), async () => 'A', { metadata: usage(1000, 500) });
    await cache.getOrCompute(req('b', 'gpt-4o'), async () => 'B', { metadata: usage(2000, 1000) });
    await cache.getOrCompute(req('c', 'local-llama'), async () => 'C', { metadata: usage(10, 10) });
    await cache.flush();
    for (let i = 0; i < 3; i++) await cache.getOrCompute(req('a'), async () => 'A');
    await cache.getOrCompute(req('b', 'gpt-4o'), async () => 'B');
    await cache.getOrCompute(req('c', 'local-llama'), async () => 'C');

    const stats = cache.stats();
    expect(stats.tokensSaved).toEqual({ input: 3000 + 2000 + 10, output: 1500 + 1000 + 10 });
    expect(stats.models['gpt-4o-mini']).toEqual({
      hits: 3,
      misses: 1,
      tokensSaved: { input: 3000, output: 1500 },
      moneySaved: (3000 * 0.15 + 1500 * 0.6) / 1e6,
    });
    expect(stats.models['local-llama']?.moneySaved).toBeUndefined(); // not in the price table
    expect(stats.moneySaved).toBeCloseTo((3000 * 0.15 + 1500 * 0.6 + 2000 * 2.5 + 1000 * 10) / 1e6, 12);
    expect(stats.hitRate).toBeCloseTo(5 / 8);
  });

  it('has no moneySaved without prices, and rejects a malformed price table', () => {
    const cache = createCache();
    caches.push(cache);
    expect(cache.stats().moneySaved).toBeUndefined();
    expect(() => createCache({ prices: { 'gpt-4o': { input: '2.5' } } as never })).toThrow(
      /prices\["gpt-4o"\] must be \{ input, output \}/,
    );
    expect(() => createCache({ prices: { m: { input: -1, output: 1 } } })).toThrow(/non-negative/);
  });
});

describe.each(STORE_KINDS)('counters kept in the store (%s)', (kind) => {
  it('another cache on the same store reads what this one counted, sent in one batched write', async () => {
    const url = storeUrl(kind);
    const namespace = uniqueNamespace('stats');
    const first = createCache({ store: url, namespace, prices: PRICES });
    caches.push(first);
    const addCounters = vi.spyOn(first.store, 'addCounters');
    await first.getOrCompute(req('a'), async () => 'A', { metadata: usage(100, 50) });
    await first.flush();
    for (let i = 0; i < 50; i++) await first.getOrCompute(req('a'), async () => 'A');
    await first.getOrCompute(req('b', 'gpt-4o'), async () => 'B');
    expect(addCounters).not.toHaveBeenCalled(); // nothing on the request path
    await first.flushStats();
    expect(addCounters).toHaveBeenCalledTimes(1);

    // memory:// lives in one process: share the store object; the others are separate connections.
    const second = createCache({ store: kind === 'memory' ? first.store : url, namespace, prices: PRICES });
    caches.push(second);
    const { rows, totals } = await second.storedStats();
    expect(rows).toHaveLength(2);
    expect(totals).toMatchObject({
      hits: 50,
      misses: 2,
      writes: 2,
      inputTokensSaved: 5000,
      outputTokensSaved: 2500,
    });
    expect(totals.hitRate).toBeCloseTo(50 / 52);
    expect(totals.moneySaved).toBeCloseTo((5000 * 0.15 + 2500 * 0.6) / 1e6, 12);
    expect(totals.bytesWritten).toBe(first.stats().bytesWritten);

    // Counts add up across writers.
    await second.getOrCompute(req('a'), async () => 'A');
    await second.close();
    expect((await first.storedStats()).totals.hits).toBe(51);
  });

  it('persistStats: false keeps counters in the process only', async () => {
    const namespace = uniqueNamespace('nostats');
    const cache = createCache({ store: storeUrl(kind), namespace, persistStats: false });
    caches.push(cache);
    await cache.getOrCompute(req('a'), async () => 'A');
    await cache.flushStats();
    expect((await cache.storedStats()).rows).toEqual([]);
    expect(cache.stats().misses).toBe(1);
  });
});
