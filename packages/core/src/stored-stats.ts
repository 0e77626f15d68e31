import type { StoredStats } from './cache-types.js';
import { COUNTER_FIELDS, type CounterRow, emptyCounters } from './counters.js';
import { computeDuration, type EntryMetadata } from './envelope.js';
import { storeFailure } from './maintenance.js';
import { addInto, type RangeWindow, rangeWindow, resolveRange, type StatsRange } from './series.js';
import { type CounterTotals, cost, type PriceTable, totalCounters } from './stats.js';
import type { CacheStore } from './stores/store.js';

/** The namespace of counters that belong to no entry (evictions, errors without a key): never a valid namespace. */
export const STORE_WIDE = '';

/** Which stored counters `cache.storedStats()` reads. */
export interface StoredStatsFilter {
  /** One namespace (default: the cache's own). */
  namespace?: string;
  /** Every namespace. */
  all?: boolean;
  /** Only what was counted in the last '24h', '7d' or '30d' (from the time buckets); default: since the start. */
  range?: StatsRange;
}

/** One chart point: the counters of `[at, at + step)`, over every namespace and model read. */
export interface SeriesPoint extends Omit<CounterTotals, 'hitRate'> {
  at: number;
}

/** Counters over a time range: per namespace and model, in total, and as points over time. */
export interface StoredSeries extends StoredStats {
  range: RangeWindow;
  points: SeriesPoint[];
}

/** Metadata for the entry a compute produced, with the compute's duration unless the adapter gave its own. */
export function withComputeTime<T>(
  metadata: ((value: T) => EntryMetadata | undefined) | undefined,
  ms: number,
): (value: T) => EntryMetadata {
  return (value) => timedMetadata(metadata?.(value), ms);
}

export function timedMetadata(own: EntryMetadata | undefined, ms: number): EntryMetadata {
  return computeDuration(own?.computeMs) === undefined ? { ...own, computeMs: ms } : own!;
}

function emptyPoint(at: number, priced: boolean): SeriesPoint {
  const { namespace: _namespace, model: _model, ...counters } = emptyCounters('', '');
  return priced ? { ...counters, at, moneySaved: 0 } : { ...counters, at };
}

/**
 * Reads the buckets of a range (default: the last 24 h) from the store and sums them per namespace and model, in
 * total, and per chart point. `now` pins the window (tests, and pages that must agree with each other).
 */
export async function readStoredSeries(
  store: CacheStore,
  options: { range?: StatsRange; namespace?: string; now?: number } = {},
  prices?: PriceTable,
): Promise<StoredSeries> {
  const window = rangeWindow(resolveRange(options.range ?? '24h'), options.now);
  const buckets = await store.readSeries(window.resolution, window.from, window.to, options.namespace);
  const byLabels = new Map<string, CounterRow>();
  const points = Array.from({ length: Math.ceil((window.to - window.from) / window.step) }, (_, i) =>
    emptyPoint(window.from + i * window.step, prices !== undefined),
  );
  for (const bucket of buckets) {
    const id = `${bucket.namespace}\u0000${bucket.model}`;
    let row = byLabels.get(id);
    if (!row) {
      row = emptyCounters(bucket.namespace, bucket.model);
      byLabels.set(id, row);
    }
    addInto(row, bucket);
    const point = points[Math.floor((bucket.at - window.from) / window.step)];
    if (!point) continue;
    for (const field of COUNTER_FIELDS) point[field] += bucket[field];
    const money = cost(prices, bucket.model, bucket.inputTokensSaved, bucket.outputTokensSaved);
    if (money !== undefined) point.moneySaved = (point.moneySaved ?? 0) + money;
  }
  const rows = [...byLabels.values()];
  return { rows, totals: totalCounters(rows, prices), range: window, points };
}

/** `cache.storedStats({ range })`: the range's counters per namespace and model, and their totals. */
export async function readRangeStats(
  store: CacheStore,
  range: StatsRange,
  namespace: string | undefined,
  prices: PriceTable | undefined,
): Promise<StoredStats> {
  const {
    rows,
    totals,
    range: window,
  } = await readStoredSeries(store, namespace === undefined ? { range } : { range, namespace }, prices);
  return { rows, totals, range: window };
}

/** What `cache.storedStats(filter)` reads: a namespace (undefined: every one) and a range (undefined: all time). */
export interface StoredStatsQuery {
  namespace: string | undefined;
  range: StatsRange | undefined;
}

/** Resolves the filter now, so an invalid range throws before the cache flushes its counters. */
export function storedStatsQuery(filter: StoredStatsFilter, defaultNamespace: string): StoredStatsQuery {
  const namespace = filter.all ? undefined : (filter.namespace ?? defaultNamespace);
  const range = filter.range === undefined ? undefined : resolveRange(filter.range);
  return { namespace, range };
}

/** `cache.storedStats()`: all-time counters, or a range's; a store failure throws STORE_UNAVAILABLE. */
export async function readStoredStats(
  store: CacheStore,
  { namespace, range }: StoredStatsQuery,
  prices: PriceTable | undefined,
): Promise<StoredStats> {
  try {
    if (range === undefined) {
      const rows = await store.readCounters(namespace);
      return { rows, totals: totalCounters(rows, prices) };
    }
    return await readRangeStats(store, range, namespace, prices);
  } catch (error) {
    throw storeFailure(store, error, 'read its counters');
  }
}
