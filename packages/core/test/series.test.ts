import { join } from 'node:path';
import { STORE_KINDS, storeUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CacheRequest,
  type CounterRow,
  createCache,
  HOUR_MS,
  MINUTE_MS,
  type ResponseCache,
  rangeWindow,
  readStoredSeries,
  SqliteStore,
  STORE_WIDE,
  splitDeltas,
} from '../src/index.js';
import { emptyCounters } from '../src/stores/store.js';

const request = (text: string, model = 'm'): CacheRequest => ({ kind: 'chat', provider: 'p', model, input: text });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function delta(namespace: string, model: string, at: number, counts: Partial<CounterRow>): CounterRow {
  return { ...emptyCounters(namespace, model), ...counts, at };
}

describe('range windows and deltas', () => {
  it('ends each window with the unit that holds now, and steps evenly', () => {
    const now = Date.UTC(2026, 0, 10, 13, 37, 12);
    const day = rangeWindow('24h', now);
    expect(day).toMatchObject({ resolution: 'minute', to: Date.UTC(2026, 0, 10, 13, 38), step: 15 * MINUTE_MS });
    expect(day.to - day.from).toBe(24 * HOUR_MS);
    const week = rangeWindow('7d', now);
    expect(week).toMatchObject({ resolution: 'hour', to: Date.UTC(2026, 0, 10, 14), step: HOUR_MS });
    expect(rangeWindow('30d', now).to - rangeWindow('30d', now).from).toBe(30 * 24 * HOUR_MS);
    expect(() => rangeWindow('1y' as never, now)).toThrow(/'24h', '7d', '30d'/);
  });

  it('splits deltas into totals and minute and hour buckets', () => {
    const at = Date.UTC(2026, 0, 10, 13, 37);
    const { totals, buckets } = splitDeltas([
      delta('a', 'm', at, { hits: 2 }),
      delta('a', 'm', at + MINUTE_MS, { hits: 3, misses: 1 }),
      delta('a', 'n', at, { misses: 4 }),
      { ...emptyCounters('a', 'm'), writes: 5 }, // no `at`: totals only
    ]);
    expect(totals).toEqual([
      { ...emptyCounters('a', 'm'), hits: 5, misses: 1, writes: 5 },
      { ...emptyCounters('a', 'n'), misses: 4 },
    ]);
    expect(buckets.minute).toHaveLength(3);
    expect(buckets.hour).toEqual([
      { ...emptyCounters('a', 'm'), hits: 5, misses: 1, at: Date.UTC(2026, 0, 10, 13) },
      { ...emptyCounters('a', 'n'), misses: 4, at: Date.UTC(2026, 0, 10, 13) },
    ]);
  });
});

describe.each(STORE_KINDS)('time buckets on %s', (kind) => {
  it('keeps per-minute and per-hour buckets that ranges read and a purge deletes', async () => {
    const namespace = uniqueNamespace('series');
    const other = uniqueNamespace('series-other');
    const cache = createCache({ store: storeUrl(kind), namespace, prices: { m: { input: 1, output: 2 } } });
    caches.push(cache);
    const now = Date.now();
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    await cache.store.addCounters([
      delta(namespace, 'm', minute, { hits: 3, misses: 1, inputTokensSaved: 1_000_000 }),
      delta(namespace, 'm', minute - 2 * HOUR_MS, { hits: 1, staleHits: 1, bypasses: 2 }),
      delta(namespace, 'n', minute - 3 * 24 * HOUR_MS, { misses: 7, timeSavedMs: 5 }),
      delta(namespace, 'n', minute - 20 * 24 * HOUR_MS, { hits: 11 }),
      delta(other, 'm', minute, { hits: 100 }),
    ]);

    const day = await cache.storedStats({ range: '24h' });
    expect(day.totals).toMatchObject({ hits: 4, staleHits: 1, misses: 1, bypasses: 2 });
    expect(day.totals.moneySaved).toBeCloseTo(1);
    expect(day.range?.resolution).toBe('minute');
    expect((await cache.storedStats({ range: '7d' })).totals).toMatchObject({ hits: 4, misses: 8, timeSavedMs: 5 });
    expect((await cache.storedStats({ range: '30d' })).totals).toMatchObject({ hits: 15, misses: 8 });
    // Every namespace (the Redis is shared with other tests: count ours).
    const everyNamespace = await cache.storedStats({ range: '30d', all: true });
    const ours = everyNamespace.rows.filter((row) => row.namespace === namespace || row.namespace === other);
    expect(ours.reduce((sum, row) => sum + row.hits, 0)).toBe(115);
    // All time: the totals table, which holds every delta.
    expect((await cache.storedStats()).totals).toMatchObject({ hits: 15, misses: 8, bypasses: 2 });

    // Points partition the range: they add up to its totals, and each bucket is in the point of its time.
    const series = await readStoredSeries(cache.store, { range: '24h', namespace });
    expect(series.points).toHaveLength(96);
    expect(series.points.reduce((sum, point) => sum + point.hits, 0)).toBe(4);
    const last = series.points[series.points.length - 1]!;
    expect(last.at).toBeLessThanOrEqual(minute);
    expect(last.hits).toBe(3);
    const week = await readStoredSeries(cache.store, { range: '7d', namespace });
    expect(week.points).toHaveLength(168);
    expect(week.points.reduce((sum, point) => sum + point.misses, 0)).toBe(8);
    expect(week.rows.map((row) => row.model).sort()).toEqual(['m', 'n']);

    await cache.purge({ namespace });
    expect((await cache.storedStats({ range: '30d' })).rows).toEqual([]);
    expect((await cache.storedStats()).rows).toEqual([]);
    expect((await cache.storedStats({ range: '24h', namespace: other })).totals.hits).toBe(100);
    if (kind !== 'memory') await cache.purge({ namespace: other });
  });

  it('records hits, stale hits, misses, bypasses, errors and time saved in the flush', async () => {
    const namespace = uniqueNamespace('series-cache');
    // A generous timeout: the error count is exact, and a store operation timed out on a loaded machine is one more.
    const cache = createCache({
      store: storeUrl(kind),
      namespace,
      ttl: 100,
      staleWhileRevalidate: '1m',
      timeoutMs: 5000,
    });
    caches.push(cache);
    await cache.getOrCompute(request('a'), async () => {
      await sleep(40);
      return 'A';
    });
    await cache.flush();
    const entry = await cache.inspect(cache.key(request('a')));
    const computeMs = entry?.info.computeMs ?? -1;
    expect(computeMs).toBeGreaterThanOrEqual(35);
    await cache.getOrCompute(request('a'), async () => 'A'); // fresh hit
    await cache.getOrCompute(request('b'), async () => 'B', { mode: 'off' }); // bypass
    await sleep(120);
    await cache.getOrCompute(request('a'), async () => 'A2'); // stale hit, refreshed in the background
    await cache.flush();
    await cache.getOrCompute(request('c'), async () => 'C', { metadata: () => ({ computeMs: 1234 }) });
    await cache.store.set(cache.key(request('d', 'broken-model')), 'not an entry', undefined);
    await cache.getOrCompute(request('d', 'broken-model'), async () => 'D'); // an error, and a miss
    await cache.flush();
    const stats = cache.stats();
    expect(stats.timeSavedMs).toBe(2 * computeMs);
    const { totals } = await cache.storedStats({ range: '24h' });
    expect(totals).toMatchObject({
      hits: 2,
      staleHits: 1,
      misses: 3,
      bypasses: 1,
      errors: 1,
      writes: stats.writes,
      timeSavedMs: 2 * computeMs,
    });
    const broken = (await cache.storedStats({ range: '24h' })).rows.find((row) => row.model === 'broken-model');
    expect(broken).toMatchObject({ namespace, errors: 1, misses: 1 });
    expect((await cache.inspect(cache.key(request('c'))))?.info.computeMs).toBe(1234);
  });
});

describe('evictions', () => {
  it.each(['memory', 'sqlite'] as const)('are counted store-wide on %s (namespace "")', async (kind) => {
    const cache = createCache({ store: storeUrl(kind), namespace: uniqueNamespace('evict'), maxEntries: 2 });
    caches.push(cache);
    for (const text of ['a', 'b', 'c', 'd']) await cache.set(request(text), text);
    if (kind === 'sqlite') await cache.prune(); // enforces the bounds now instead of within a second
    const { rows } = await cache.storedStats({ all: true, range: '24h' });
    expect(rows.find((row) => row.namespace === STORE_WIDE)).toMatchObject({ model: '', evictions: 2 });
    expect(cache.stats().evictions).toBe(2);
  });
});

describe('SQLite counters of an older llmemo', () => {
  it('gain the new columns and keep their counts', async () => {
    const file = join(tempDir(), 'old.sqlite');
    const old = new SqliteStore(`sqlite://${file}`);
    await old.ready();
    // The stats table as llmemo 0.1 made it, with counts in it.
    await old.query('DROP TABLE llmemo_stats');
    await old.query('DROP TABLE llmemo_series');
    await old.query(
      'CREATE TABLE llmemo_stats (ns TEXT NOT NULL, model TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0, misses INTEGER NOT NULL DEFAULT 0, writes INTEGER NOT NULL DEFAULT 0, bytesWritten INTEGER NOT NULL DEFAULT 0, inputTokensSaved INTEGER NOT NULL DEFAULT 0, outputTokensSaved INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, model)) WITHOUT ROWID',
    );
    await old.query("INSERT INTO llmemo_stats (ns, model, hits, misses) VALUES ('app', 'm', 7, 3)");
    await old.close();

    const cache = createCache({ store: `sqlite://${file}`, namespace: 'app' });
    caches.push(cache);
    await cache.getOrCompute(request('x'), async () => 'X', { mode: 'off' });
    await cache.getOrCompute(request('y'), async () => 'Y');
    await cache.getOrCompute(request('y'), async () => 'Y');
    expect((await cache.storedStats()).totals).toMatchObject({ hits: 8, misses: 4, bypasses: 1 });
    expect((await cache.storedStats({ range: '24h' })).totals).toMatchObject({ hits: 1, misses: 1, bypasses: 1 });
  });
});
