import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type CacheRequest, createCache, type EntryInfo, type ResponseCache } from '../src/index.js';

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

const request = (i: number): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: `question ${i}` });
const DAY = 86_400_000;

async function list(cache: ResponseCache): Promise<Map<string, EntryInfo>> {
  const entries = new Map<string, EntryInfo>();
  for await (const entry of cache.entries()) entries.set(entry.key, entry);
  return entries;
}

describe.each(STORE_KINDS)('per-entry hits on %s', (kind) => {
  function make(namespace: string, url = storeUrl(kind)) {
    const cache = createCache({ store: url, namespace, persistStats: '1h', timeoutMs: 5000 });
    caches.push(cache);
    return cache;
  }

  it('counts each entry’s hits and last hit in batches, and entries() shows them', async () => {
    const cache = make(uniqueNamespace('hits'));
    for (const i of [1, 2, 3]) await cache.set(request(i), { i });
    const before = Date.now();
    for (let n = 0; n < 3; n++) await cache.getOrCompute(request(1), async () => ({ i: -1 }));
    await cache.getOrCompute(request(2), async () => ({ i: -1 }));
    // Nothing is written per hit: before the flush the store has no record.
    if (kind !== 'memory') expect([...(await list(cache)).values()].every((e) => e.hits === undefined)).toBe(true);
    await cache.flushStats();
    const entries = await list(cache);
    expect(entries.get(cache.key(request(1)))?.hits).toBe(3);
    expect(entries.get(cache.key(request(2)))?.hits).toBe(1);
    expect(entries.get(cache.key(request(3)))?.hits).toBeUndefined();
    expect(entries.get(cache.key(request(1)))?.lastHitAt?.getTime()).toBeGreaterThanOrEqual(before);
    // Hits add up across flushes (and, on shared stores, across processes: increments only).
    await cache.getOrCompute(request(1), async () => ({ i: -1 }));
    await cache.flushStats();
    expect((await list(cache)).get(cache.key(request(1)))?.hits).toBe(4);
  });

  it('prune({ unusedSince }) removes entries neither hit nor written since, and keeps the rest', async () => {
    const url = storeUrl(kind);
    const cache = make(uniqueNamespace('unused'), url);
    // Another namespace of the same store (memory:// is one store per cache: there it is simply another cache).
    const other = make(uniqueNamespace('other'), url);
    for (const i of [1, 2, 3]) await cache.set(request(i), { i });
    await other.set(request(1), { i: 1 });
    // All written ten days ago (re-imported with an older write time, as a fixture recorded then would be).
    for (const target of [cache, other]) {
      const records = [];
      for await (const record of target.exportEntries()) records.push(record);
      await target.importEntries(
        records.map((record) => {
          const entry = JSON.parse(record.value) as { createdAt: number };
          entry.createdAt -= 10 * DAY;
          return { ...record, value: JSON.stringify(entry) };
        }),
      );
    }
    // Today: entry 1 is read, entry 3 re-recorded; entry 2 is neither.
    await cache.getOrCompute(request(1), async () => ({ i: -1 }));
    await cache.set(request(3), { i: 3, again: true });
    await expect(cache.prune({ unusedSince: 'soon' as never })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(await cache.prune({ unusedSince: '7d' })).toBe(1);
    expect(await cache.get(request(1))).toEqual({ i: 1 });
    expect(await cache.get(request(2))).toBeUndefined();
    expect(await cache.get(request(3))).toEqual({ i: 3, again: true });
    expect(await other.get(request(1))).toEqual({ i: 1 });
  });

  it('a purge of the namespace drops its hit records: a re-recorded entry starts from zero', async () => {
    const cache = make(uniqueNamespace('purged'));
    await cache.set(request(1), { i: 1 });
    await cache.getOrCompute(request(1), async () => ({ i: -1 }));
    await cache.flushStats();
    expect((await list(cache)).get(cache.key(request(1)))?.hits).toBe(1);
    await cache.purge({ namespace: cache.namespace });
    await cache.set(request(1), { i: 1 });
    expect((await list(cache)).get(cache.key(request(1)))?.hits).toBeUndefined();
  });
});
