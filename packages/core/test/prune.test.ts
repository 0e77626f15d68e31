import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { STORE_KINDS, storeUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import Keyv from 'keyv';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CacheOptions,
  type CacheRequest,
  createCache,
  type EvictEvent,
  type ResponseCache,
  type SqliteStore,
} from '../src/index.js';
import { rawDump } from './helpers/raw.js';

const req = (text: string): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: text });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function make(options: CacheOptions): ResponseCache {
  const cache = createCache({ timeoutMs: 5000, namespace: uniqueNamespace(), ...options });
  caches.push(cache);
  return cache;
}

async function until(check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error('condition not met in time');
}

async function rows(cache: ResponseCache): Promise<number> {
  const [row] = await (cache.store as SqliteStore).query(`SELECT count(*) AS n FROM llmemo`);
  return Number(row!.n);
}

describe.each(STORE_KINDS)('cache.prune on %s', (kind) => {
  it('removes expired entries and keeps live ones', async () => {
    const cache = make({ store: storeUrl(kind), pruneInterval: false });
    for (let i = 0; i < 3; i++) await cache.set(req(`short ${i}`), 'short-lived value', { ttl: 200 });
    await cache.set(req('long'), 'long-lived value', { ttl: '1h' });
    await cache.set(req('forever'), 'forever value', { ttl: null });
    expect(await cache.store.peek(cache.key(req('short 2')))).toBeDefined();
    await sleep(300);
    const pruned = await cache.prune();
    // Redis expires keys by itself (every write sets PX); memory and SQLite keep them until pruned.
    expect(pruned).toBe(kind === 'redis' ? 0 : 3);
    const raw = await rawDump(cache);
    expect(raw).not.toContain('short-lived value');
    expect(raw).toContain('long-lived value');
    expect(await cache.get(req('forever'))).toBe('forever value');
  });
});

describe('pruneInterval', () => {
  it('prunes SQLite on an unref’d timer', async () => {
    const cache = make({ store: storeUrl('sqlite'), pruneInterval: 50 });
    await cache.set(req('a'), 'x', { ttl: 20 });
    await cache.set(req('b'), 'y', { ttl: null });
    expect(await rows(cache)).toBe(2);
    await until(async () => (await rows(cache)) === 1);
    expect(await cache.get(req('b'))).toBe('y');
  });

  it('rejects a bad interval at construction', () => {
    expect(() => createCache({ pruneInterval: 'often' as never })).toThrow(/pruneInterval/);
  });
});

describe('SQLite size bounds (least recently used first)', () => {
  it('maxEntries evicts the least recently used, counting reads as use', async () => {
    const evictions: EvictEvent[] = [];
    const cache = make({ store: storeUrl('sqlite'), maxEntries: 10, sqlite: { touchIntervalMs: 5 } });
    cache.on('evict', (event) => evictions.push(event));
    for (let i = 0; i < 10; i++) {
      await cache.set(req(`k${i}`), `v${i}`);
      await sleep(3); // distinct millisecond timestamps make the expected order unambiguous
    }
    for (let i = 0; i < 3; i++) expect(await cache.get(req(`k${i}`))).toBe(`v${i}`);
    await sleep(20); // let the batched access-time update run
    for (let i = 10; i < 15; i++) {
      await cache.set(req(`k${i}`), `v${i}`);
      await sleep(3);
    }
    await cache.prune();
    expect(await rows(cache)).toBe(10);
    const present: number[] = [];
    for (let i = 0; i < 15; i++) if ((await cache.get(req(`k${i}`))) !== undefined) present.push(i);
    expect(present).toEqual([0, 1, 2, 8, 9, 10, 11, 12, 13, 14]);
    expect(cache.stats().evictions).toBe(5);
    expect(evictions).toEqual([{ count: 5, store: 'sqlite' }]);
  });

  it('maxBytes keeps the most recently used entries that fit', async () => {
    const cache = make({ store: storeUrl('sqlite'), maxBytes: 5000 });
    for (let i = 0; i < 20; i++) {
      await cache.set(req(`k${i}`), `${i} ${'x'.repeat(900)}`);
      await sleep(3);
    }
    await cache.prune();
    const { entries, bytes } = await (cache.store as SqliteStore).size();
    expect(bytes).toBeLessThanOrEqual(5000);
    expect(entries).toBeGreaterThanOrEqual(3);
    // The newest survive.
    expect(await cache.get(req('k19'))).toBeDefined();
    expect(await cache.get(req('k0'))).toBeUndefined();
  });

  it('enforces the bounds by itself shortly after writes', async () => {
    const cache = make({ store: storeUrl('sqlite'), maxEntries: 5 });
    for (let i = 0; i < 20; i++) await cache.set(req(`k${i}`), i);
    await until(async () => (await rows(cache)) === 5);
    expect(cache.stats().evictions).toBe(15);
  });

  it('adopts a database written by plain Keyv (rows from before the side table count as least recently used)', async () => {
    const path = join(tempDir(), 'legacy.sqlite');
    const legacy = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${path}`, table: 'llmemo' }) });
    await legacy.set('llmemo:v1:old:chat:p:m:aaaa', 'expired', 10);
    await legacy.set('llmemo:v1:old:chat:p:m:bbbb', 'old');
    await legacy.disconnect();
    await sleep(30);
    const cache = make({ store: `sqlite://${path}`, maxEntries: 2 });
    await cache.set(req('fresh'), 'fresh');
    await cache.set(req('fresher'), 'fresher');
    expect(await rows(cache)).toBe(4);
    expect(await cache.prune()).toBe(1); // the expired legacy row; then one eviction, the other legacy row
    expect(await rows(cache)).toBe(2);
    expect(cache.stats().evictions).toBe(1);
    expect(await cache.get(req('fresh'))).toBe('fresh');
    expect(await cache.get(req('fresher'))).toBe('fresher');
  });
});

describe('bounds on stores that evict by themselves', () => {
  it('rejects maxEntries for Redis and says how to bound it', () => {
    expect(() => createCache({ store: storeUrl('redis'), maxEntries: 10 })).toThrow(/maxmemory-policy 'allkeys-lru'/);
  });

  it('memory:// counts LRU evictions', async () => {
    const cache = make({ store: 'memory://', maxEntries: 3 });
    for (let i = 0; i < 5; i++) await cache.set(req(`k${i}`), i);
    expect(cache.stats().evictions).toBe(2);
    expect(await cache.get(req('k0'))).toBeUndefined();
    expect(await cache.get(req('k4'))).toBe(4);
  });
});
