import { join } from 'node:path';
import { redisUrl, storeUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CacheRequest,
  createCache,
  type ErrorEvent,
  isLlmemoError,
  type ResponseCache,
  type StoreEvent,
} from '../src/index.js';

const request = (text: string): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model: 'gpt-4o-mini',
  specVersion: 'v3',
  input: [{ role: 'user', content: [{ type: 'text', text }] }],
  params: { temperature: 0 },
});

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function make(store: string, namespace: string, options: Parameters<typeof createCache>[0] = {}): ResponseCache {
  const cache = createCache({ store, namespace, timeoutMs: 2000, persistStats: false, ...options });
  caches.push(cache);
  return cache;
}

/** A promise released by hand, so calls can be held in flight across a swap. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Which of the prompts have an entry in the store at `url` (read by a fresh cache on it). */
async function storedIn(url: string, namespace: string, prompts: string[]): Promise<string[]> {
  const reader = make(url, namespace);
  const found: string[] = [];
  for (const prompt of prompts) if ((await reader.get(request(prompt))) !== undefined) found.push(prompt);
  await reader.close();
  return found;
}

describe('cache.useStore', () => {
  it('swaps SQLite for Redis under 200 concurrent calls: none fails, every write lands where its call began', async () => {
    const namespace = uniqueNamespace('swap');
    const sqlite = storeUrl('sqlite');
    const cache = make(sqlite, namespace);
    const events: StoreEvent[] = [];
    const errors: ErrorEvent[] = [];
    cache.on('store', (event) => events.push(event));
    cache.on('error', (event) => errors.push(event));
    const held = gate();
    const before = Array.from({ length: 100 }, (_, i) => `before ${i}`);
    const after = Array.from({ length: 100 }, (_, i) => `after ${i}`);
    const call = (prompt: string) =>
      cache.getOrCompute(request(prompt), async () => {
        await held.wait;
        return { text: `answer to ${prompt}` };
      });
    const first = before.map(call);
    // Let every first call get past its read, so each is computing on SQLite when the store changes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const swapped = cache.useStore(redisUrl());
    expect(cache.store.type).toBe('redis');
    const second = after.map(call);
    held.open();
    const results = await Promise.allSettled([...first, ...second]);
    await swapped;
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(errors).toEqual([]);
    expect(events).toEqual([expect.objectContaining({ previous: 'sqlite', current: 'redis', drained: true })]);
    await cache.flush();
    const all = [...before, ...after];
    expect(await storedIn(sqlite, namespace, all)).toEqual(before);
    expect(await storedIn(redisUrl(), namespace, all)).toEqual(after);
  });

  it('calls after the swap read the new store; the old store is closed', async () => {
    const namespace = uniqueNamespace('swap-read');
    const redis = make(redisUrl(), namespace);
    await redis.set(request('seeded'), { text: 'from redis' });
    const cache = make(storeUrl('sqlite'), namespace);
    const old = cache.store;
    await cache.useStore(redisUrl());
    const result = await cache.getOrCompute(request('seeded'), () => ({ text: 'computed' }));
    expect(result).toMatchObject({ hit: true, value: { text: 'from redis' } });
    // The SQLite store was closed: using it directly fails.
    await expect(old.get('anything')).rejects.toThrow();
  });

  it('a stream looked up before the swap commits to the store it was read from', async () => {
    const namespace = uniqueNamespace('swap-stream');
    const sqlite = storeUrl('sqlite');
    const cache = make(sqlite, namespace);
    const lookup = await cache.lookup<{ text: string }>(request('streamed'));
    expect(lookup.hit).toBe(false);
    let closed = false;
    const swapped = cache.useStore(redisUrl()).then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    // The old store waits for the stream's commit before it closes.
    expect(closed).toBe(false);
    if (!lookup.hit) expect(await lookup.commit({ text: 'done' })).toBe(true);
    await swapped;
    expect(await storedIn(sqlite, namespace, ['streamed'])).toEqual(['streamed']);
    expect(await storedIn(redisUrl(), namespace, ['streamed'])).toEqual([]);
  });

  it('a stream the adapter skips (Lookup.skip) releases the old store at once, with a skip event', async () => {
    const cache = make(storeUrl('sqlite'), uniqueNamespace('swap-skip'));
    const skips: string[] = [];
    cache.on('skip', (event) => skips.push(`${event.code}: ${event.reason}`));
    const lookup = await cache.lookup<{ text: string }>(request('skipped'));
    const swapped = cache.useStore('memory://', { drainTimeout: '1h' });
    if (!lookup.hit) lookup.skip('it asks for a tool call');
    await swapped;
    expect(skips).toEqual(['NOT_CACHEABLE: it asks for a tool call']);
    if (!lookup.hit) expect(await lookup.commit({ text: 'late' })).toBe(false);
  });

  it('coalescing follows the swap: a call after it does not join a flight on the old store', async () => {
    const namespace = uniqueNamespace('swap-flight');
    const cache = make(storeUrl('sqlite'), namespace);
    const held = gate();
    let computes = 0;
    const compute = async () => {
      computes++;
      await held.wait;
      return { text: `answer ${computes}` };
    };
    const first = cache.getOrCompute(request('same'), compute);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const swapped = cache.useStore(redisUrl());
    const second = cache.getOrCompute(request('same'), compute);
    await new Promise((resolve) => setTimeout(resolve, 30));
    held.open();
    const [a, b] = await Promise.all([first, second]);
    await swapped;
    expect(computes).toBe(2);
    expect([a.coalesced, b.coalesced]).toEqual([false, false]);
    expect(await storedIn(redisUrl(), namespace, ['same'])).toEqual(['same']);
  });

  it('throws INVALID_OPTIONS for a store it cannot use, and keeps the current one', async () => {
    const cache = make('memory://', uniqueNamespace('swap-invalid'));
    await cache.set(request('kept'), { text: 'still here' });
    let thrown: unknown;
    try {
      await cache.useStore('ftp://nowhere');
    } catch (error) {
      thrown = error;
    }
    expect(isLlmemoError(thrown, 'INVALID_OPTIONS')).toBe(true);
    // Bounds cannot apply to Redis: the swap is refused the same way createCache would refuse it.
    const bounded = make('memory://', uniqueNamespace('swap-bounded'), { maxEntries: 10 });
    expect(() => bounded.useStore(redisUrl())).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(cache.store.type).toBe('memory');
    expect(await cache.get(request('kept'))).toEqual({ text: 'still here' });
    expect(() => cache.useStore('memory://', { drainTimeout: 'soon' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('persisted counters go to the new store after the swap', async () => {
    const namespace = uniqueNamespace('swap-stats');
    const cache = make(`sqlite://${join(tempDir(), 'stats.sqlite')}`, namespace, { persistStats: true });
    await cache.useStore(redisUrl());
    await cache.getOrCompute(request('counted'), () => ({ text: 'x' }));
    await cache.getOrCompute(request('counted'), () => ({ text: 'x' }));
    const stats = await cache.storedStats();
    expect(stats.totals).toMatchObject({ hits: 1, misses: 1 });
    const reader = make(redisUrl(), namespace);
    expect((await reader.storedStats()).totals).toMatchObject({ hits: 1, misses: 1 });
  });

  it('close() during a swap does not wait for a stream that never commits', async () => {
    const cache = createCache({ store: storeUrl('sqlite'), namespace: uniqueNamespace('swap-close') });
    const events: StoreEvent[] = [];
    cache.on('store', (event) => events.push(event));
    await cache.lookup(request('abandoned'));
    const swapped = cache.useStore('memory://', { drainTimeout: '1h' });
    await cache.close();
    await swapped;
    expect(events).toEqual([expect.objectContaining({ previous: 'sqlite', current: 'memory', drained: false })]);
    expect(() => cache.useStore('memory://')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});
