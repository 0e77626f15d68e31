// memory:// reads and writes its LRU directly, not through Keyv: what it stores must stay the wrapper Keyv stores
// (maintenance, export and an app's own Keyv over the adapter read it), and what it reads must be answered as Keyv
// answered it: the same values, the same misses for expired entries (deleted on read), the same corrupt-value error.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CacheRequest,
  CorruptStoredValue,
  createCache,
  type ErrorEvent,
  KeyvStore,
  LruMapStore,
  MemoryStore,
} from '../src/index.js';
import { rawKeyv } from '../src/stores/raw-keyv.js';

/** The path memory:// took before: its values through Keyv, as KeyvStore reads and writes them. */
function pair() {
  const direct = new MemoryStore(new LruMapStore());
  const referenceAdapter = new LruMapStore();
  const reference = new KeyvStore('memory', rawKeyv(referenceAdapter, { json: false }));
  return { direct, reference, referenceAdapter };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryStore values on the LRU directly', () => {
  it('stores the wrapper Keyv stores, for every kind of TTL', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const { direct, reference, referenceAdapter } = pair();
    for (const [k, ttl] of [
      ['a', 60_000],
      ['b', undefined],
      ['c', 0],
      ['d', 1],
    ] as const) {
      await direct.set(k, `value of ${k}`, ttl);
      await reference.set(k, `value of ${k}`, ttl);
      expect(direct.adapter.lru.get(k)).toEqual(referenceAdapter.lru.get(k));
    }
    expect(direct.adapter.lru.get('a')).toEqual({ value: 'value of a', expires: 1_060_000 });
    expect(direct.adapter.lru.get('c')).toEqual({ value: 'value of c', expires: undefined });
  });

  it('answers reads as Keyv did: values, absent keys, and expired entries (missed and deleted)', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const { direct, reference, referenceAdapter } = pair();
    for (const store of [direct, reference]) {
      await store.set('live', 'L', 10_000);
      await store.set('short', 'S', 5);
      await store.set('forever', 'F', undefined);
    }
    vi.setSystemTime(1_000_006);
    for (const k of ['live', 'short', 'forever', 'absent']) {
      expect(await direct.get(k)).toBe(await reference.get(k));
    }
    expect(await direct.get('live')).toBe('L');
    expect(await direct.get('short')).toBeUndefined();
    // Keyv deletes an expired entry it reads; so does the direct read.
    expect(direct.adapter.lru.has('short')).toBe(false);
    expect(referenceAdapter.lru.has('short')).toBe(false);
    // Exactly at `expires` an entry is still live for Keyv (it expires after that millisecond).
    await direct.set('edge', 'E', 10);
    await reference.set('edge', 'E', 10);
    vi.setSystemTime(1_000_016);
    expect(await direct.get('edge')).toBe('E');
    expect(await reference.get('edge')).toBe('E');
  });

  it('answers a non-string value with CorruptStoredValue and an empty wrapper as absent, as Keyv did', async () => {
    const { direct, reference, referenceAdapter } = pair();
    for (const adapter of [direct.adapter, referenceAdapter]) {
      adapter.set('number', { value: 42 as unknown as string });
      adapter.set('empty', { value: undefined as unknown as string });
    }
    await expect(direct.get('number')).rejects.toBeInstanceOf(CorruptStoredValue);
    await expect(reference.get('number')).rejects.toBeInstanceOf(CorruptStoredValue);
    expect(await direct.get('empty')).toBeUndefined();
    expect(await reference.get('empty')).toBeUndefined();
  });

  it('is read back by Keyv over the same adapter, and reads what that Keyv wrote', async () => {
    const direct = new MemoryStore(new LruMapStore());
    const keyv = rawKeyv(direct.adapter, { json: false });
    await direct.set('ours', 'written directly', 60_000);
    expect(await keyv.get('ours')).toBe('written directly');
    await keyv.set('theirs', 'written by Keyv', 60_000);
    expect(await direct.get('theirs')).toBe('written by Keyv');
  });
});

const request: CacheRequest = { kind: 'chat', provider: 'p', model: 'm', input: 'memory read', params: {} };

// A memory read is answered synchronously; it must fail open exactly as the asynchronous read did.
describe('memory:// reads answered without a promise', () => {
  it('serve a hit, and a store that throws is a miss plus a get error event', async () => {
    const cache = createCache({ store: 'memory://' });
    const errors: ErrorEvent[] = [];
    cache.on('error', (event) => errors.push(event));
    await cache.set(request, 'stored');
    expect(await cache.getOrCompute(request, () => 'computed')).toMatchObject({ value: 'stored', hit: true });
    const store = cache.store as MemoryStore;
    store.getNow = () => {
      throw new Error('the LRU broke');
    };
    expect(await cache.getOrCompute(request, () => 'computed')).toMatchObject({ value: 'computed', hit: false });
    expect(errors.map((event) => event.operation)).toEqual(['get']);
    await cache.close();
  });

  it('report a corrupt value, delete it, and compute', async () => {
    const cache = createCache({ store: 'memory://' });
    const errors: ErrorEvent[] = [];
    cache.on('error', (event) => errors.push(event));
    const store = cache.store as MemoryStore;
    store.adapter.set(cache.key(request), { value: 42 as unknown as string });
    expect(await cache.getOrCompute(request, () => 'computed')).toMatchObject({ value: 'computed', hit: false });
    expect(errors.map((event) => [event.operation, event.error.code])).toEqual([['decode', 'CORRUPT_ENTRY']]);
    await cache.flush();
    expect(await cache.getOrCompute(request, () => 'again')).toMatchObject({ value: 'computed', hit: true });
    await cache.close();
  });
});
