import { describe, expect, it } from 'vitest';
import { openStore } from '../src/open-store.js';
import { resolveCacheOptions } from '../src/options.js';
import { SqliteStore } from '../src/stores/sqlite.js';

describe('openStore', () => {
  it('passes maxEntries/maxBytes to a memory store and evictions to the callback', async () => {
    const evicted: number[] = [];
    const store = openStore(resolveCacheOptions({ maxEntries: 2 }), (count) => evicted.push(count));
    for (const key of ['a', 'b', 'c']) await store.set(key, 'v', undefined);
    expect(await store.get('a')).toBeUndefined();
    expect(evicted).toEqual([1]);
    await store.close();
  });

  it('passes the bounds to a SQLite store', async () => {
    const store = openStore(resolveCacheOptions({ store: 'sqlite://:memory:', maxBytes: 1000 }), () => {});
    expect(store).toBeInstanceOf(SqliteStore);
    expect((store as SqliteStore).maxBytes).toBe(1000);
    await store.close();
  });

  it('rejects bounds on a store that does not bound itself, and cross-process coalescing without Redis', () => {
    const adapter = new Map();
    expect(() => openStore(resolveCacheOptions({ store: adapter as never, maxEntries: 5 }), () => {})).toThrow(
      /maxEntries\/maxBytes bound memory:\/\/, sqlite:\/\/ and file:\/\/ stores, not a adapter store/,
    );
    expect(() => openStore(resolveCacheOptions({ crossProcessCoalescing: true }), () => {})).toThrow(
      /crossProcessCoalescing needs a redis:\/\/ store/,
    );
  });
});
