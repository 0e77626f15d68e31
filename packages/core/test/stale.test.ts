import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import Keyv from 'keyv';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type BreakerEvent,
  type CacheRequest,
  createCache,
  type ErrorEvent,
  isTransientError,
  type ResponseCache,
} from '../src/index.js';

const request = (text: string): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: text });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { statusCode: status });

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

// 'redis+local': the in-process tier in front of Redis must serve stale entries exactly as Redis alone does.
type Variant = (typeof STORE_KINDS)[number] | 'redis+local';

function make(kind: Variant, options: Parameters<typeof createCache>[0] = {}) {
  const cache = createCache({
    store: storeUrl(kind === 'redis+local' ? 'redis' : kind),
    local: kind === 'redis+local',
    namespace: uniqueNamespace('stale'),
    timeoutMs: 2000,
    ...options,
  });
  caches.push(cache);
  const errors: ErrorEvent[] = [];
  cache.on('error', (event) => errors.push(event));
  return { cache, errors };
}

describe.each([...STORE_KINDS, 'redis+local' as const])('stale serving on %s', (kind) => {
  it('stale-while-revalidate serves the expired entry at once and refreshes it once per key', async () => {
    const { cache } = make(kind, { ttl: 100, staleWhileRevalidate: '1m' });
    await cache.getOrCompute(request('swr'), async () => 'v1');
    await cache.flush();
    await sleep(150);
    let calls = 0;
    const refresh = async () => {
      calls++;
      await sleep(30);
      return 'v2';
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.getOrCompute(request('swr'), refresh)));
    for (const result of results) expect(result).toMatchObject({ value: 'v1', hit: true, stale: true });
    await cache.flush();
    expect(calls).toBe(1);
    expect(await cache.getOrCompute(request('swr'), refresh)).toMatchObject({ value: 'v2', hit: true, stale: false });
    expect(cache.stats().staleHits).toBe(20);
  });

  it('stale-if-error serves the expired entry when the provider fails with a transient error', async () => {
    const { cache, errors } = make(kind, { ttl: 100, staleIfError: '1m' });
    await cache.getOrCompute(request('sie'), async () => 'old answer');
    await cache.flush();
    await sleep(150);
    const outage = await cache.getOrCompute(request('sie'), async () => Promise.reject(httpError(503)));
    expect(outage).toMatchObject({ value: 'old answer', hit: true, stale: true });
    expect(errors.map((e) => [e.operation, e.error.code])).toEqual([['compute', 'PROVIDER_FAILED']]);
    // A rejected request is the caller's problem: it is never papered over with a stale answer.
    await expect(cache.getOrCompute(request('sie'), async () => Promise.reject(httpError(400)))).rejects.toThrow(
      'HTTP 400',
    );
    // Once the provider answers again, the fresh answer replaces the stale one.
    expect(await cache.getOrCompute(request('sie'), async () => 'new answer')).toMatchObject({ value: 'new answer' });
  });

  it('a stale-if-error answer counts as one stale hit, not a miss and a hit', async () => {
    const { cache } = make(kind, { ttl: 100, staleIfError: '1m', persistStats: '1h' });
    await cache.getOrCompute(request('one-counter'), async () => 'old');
    await cache.flush();
    await sleep(150);
    const before = cache.stats();
    const stored = (await cache.storedStats({ all: true })).totals;
    await cache.getOrCompute(request('one-counter'), async () => Promise.reject(httpError(503)));
    const miss = await cache.lookup<string>(request('one-counter'));
    if (miss.hit) throw new Error('expected a miss');
    expect(miss.fallback(httpError(503))).toMatchObject({ value: 'old' });
    const after = cache.stats();
    expect(after.misses - before.misses).toBe(0);
    expect(after.hits - before.hits).toBe(2);
    expect(after.staleHits - before.staleHits).toBe(2);
    const persisted = (await cache.storedStats({ all: true })).totals;
    expect(persisted.misses - stored.misses).toBe(0);
    expect(persisted.hits - stored.hits).toBe(2);
  });

  it('outside the stale-if-error window the error reaches the caller', async () => {
    const { cache } = make(kind, { ttl: 100, staleIfError: 100 });
    await cache.getOrCompute(request('late'), async () => 'old');
    await cache.flush();
    await sleep(250);
    await expect(cache.getOrCompute(request('late'), async () => Promise.reject(httpError(500)))).rejects.toThrow(
      'HTTP 500',
    );
  });

  it('per-call staleIfError works without a cache-level setting, and lookup offers the same fallback', async () => {
    const { cache } = make(kind, { ttl: 100 });
    await cache.getOrCompute(request('per-call'), async () => 'kept', { staleIfError: '1m' });
    await cache.flush();
    await sleep(150);
    const served = await cache.getOrCompute(request('per-call'), async () => Promise.reject(httpError(429)), {
      staleIfError: '1m',
    });
    expect(served).toMatchObject({ value: 'kept', stale: true });
    const miss = await cache.lookup<string>(request('per-call'), { staleIfError: '1m' });
    if (miss.hit) throw new Error('expected a miss');
    expect(miss.fallback(httpError(502))).toMatchObject({ value: 'kept' });
    expect(miss.fallback(httpError(401))).toBeUndefined();
  });

  it('an entry the caller refuses (accept) is one miss, and the fresh value replaces it', async () => {
    const { cache } = make(kind);
    const misses: string[] = [];
    cache.on('miss', (event) => misses.push(event.reason));
    await cache.getOrCompute(request('accept'), async () => ({ usage: false }));
    await cache.flush();
    const before = cache.stats();
    const accept = (value: { usage: boolean }) => value.usage;
    const refused = await cache.getOrCompute(request('accept'), async () => ({ usage: true }), { accept });
    expect(refused).toMatchObject({ hit: false, value: { usage: true } });
    await cache.flush();
    const lookup = await cache.lookup<{ usage: boolean }>(request('accept'), { accept });
    expect(lookup).toMatchObject({ hit: true, value: { usage: true } });
    const after = cache.stats();
    expect([after.hits - before.hits, after.misses - before.misses]).toEqual([1, 1]);
    expect(misses).toEqual(['absent', 'unusable']);
  });

  it('lookup with revalidate serves stale and stores the refreshed value', async () => {
    const { cache } = make(kind, { ttl: 100, staleWhileRevalidate: '1m' });
    const first = await cache.lookup<string>(request('lookup-swr'));
    if (first.hit) throw new Error('expected a miss');
    await first.commit('parts v1');
    await sleep(150);
    const revalidate = vi.fn(async () => ({ value: 'parts v2' }));
    const stale = await cache.lookup<string>(request('lookup-swr'), { revalidate });
    expect(stale).toMatchObject({ hit: true, stale: true, value: 'parts v1' });
    await cache.flush();
    expect(revalidate).toHaveBeenCalledTimes(1);
    expect(await cache.lookup<string>(request('lookup-swr'))).toMatchObject({
      hit: true,
      stale: false,
      value: 'parts v2',
    });
  });
});

describe('isTransientError', () => {
  it.each([
    [httpError(500), true],
    [httpError(503), true],
    [httpError(429), true],
    [httpError(408), true],
    [Object.assign(new Error('x'), { status: 502 }), true],
    [httpError(400), false],
    [httpError(401), false],
    [httpError(404), false],
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), true],
    [Object.assign(new Error('timeout'), { name: 'TimeoutError' }), true],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
    [new Error('plain'), false],
  ])('%s → %s', (error, expected) => {
    expect(isTransientError(error)).toBe(expected);
  });
});

describe('circuit breaker around the store', () => {
  it('stops calling a hanging store after consecutive timeouts, then probes it', async () => {
    let gets = 0;
    let healthy = false;
    const store = {
      values: new Map<string, unknown>(),
      get(key: string) {
        gets++;
        return healthy ? this.values.get(key) : new Promise<never>(() => {});
      },
      set(key: string, value: unknown) {
        if (!healthy) return new Promise<never>(() => {});
        this.values.set(key, value);
        return true;
      },
      delete: () => true,
      clear: () => {},
    };
    const cache = createCache({ store: new Keyv({ store }), timeoutMs: 20, breaker: { threshold: 3, cooldown: 300 } });
    caches.push(cache);
    const changes: BreakerEvent[] = [];
    cache.on('breaker', (event) => changes.push(event));
    for (let i = 0; i < 20; i++) {
      expect((await cache.getOrCompute(request(`q${i}`), async () => i)).value).toBe(i);
    }
    await cache.flush();
    // 3 failures (gets and sets) open it: far fewer store calls than the 20 requests made.
    expect(gets).toBeLessThanOrEqual(3);
    expect(cache.stats().breaker).toEqual({ state: 'open', opens: 1 });
    expect(changes.map((c) => c.state)).toEqual(['open']);

    healthy = true;
    await sleep(350);
    await cache.getOrCompute(request('probe'), async () => 'p');
    await cache.flush();
    expect(cache.stats().breaker?.state).toBe('closed');
    expect(changes.map((c) => c.state)).toEqual(['open', 'half-open', 'closed']);
    expect((await cache.getOrCompute(request('probe'), async () => 'other')).hit).toBe(true);
  });
});
