import {
  type CounterRow,
  type CounterTotals,
  EntrySummarizer,
  type EntrySummary,
  type PriceTable,
  type RangeWindow,
  type ResponseCache,
  readStoredSeries,
  type SeriesPoint,
  STORE_WIDE,
  type StatsRange,
  totalCounters,
} from '@llmemo/core';
import { type EntryItem, topEntries } from './entries.js';
import type { EntryRow, Snapshot } from './snapshot.js';

/** Counter totals, plus `requests` (hits + misses + bypasses). */
export interface CounterSummary extends CounterTotals {
  requests: number;
}

/** One row of the namespace or model table: what is stored, and what was counted in the range. */
export interface GroupSummary extends CounterSummary {
  name: string;
  entries: number;
  bytes: number;
}

/** A histogram in JSON: upper bounds in ms, the last one `null` (no bound). */
export interface HistogramJson {
  bounds: (number | null)[];
  counts: number[];
  sum: number;
}

export interface EntriesOverview extends Omit<EntrySummary, 'age' | 'ttl' | 'byNamespace' | 'byModel' | 'byKind'> {
  age: HistogramJson;
  ttl: HistogramJson;
  /** When the store was scanned for entries (epoch ms), and how long it took. */
  scannedAt: number;
  scanMs: number;
}

/** What `GET …/api/overview` answers. */
export interface Overview {
  generatedAt: number;
  store: { type: string; sharedCounters: boolean };
  /** The namespace the page is narrowed to, or null for all. */
  namespace: string | null;
  range: RangeWindow;
  /** Whether a price table is set (money saved is then in totals, points and groups). */
  priced: boolean;
  totals: CounterSummary;
  /** The range in points of `range.step`, oldest first. */
  series: SeriesPoint[];
  namespaces: GroupSummary[];
  models: GroupSummary[];
  kinds: { name: string; entries: number; bytes: number }[];
  /**
   * What the store holds now, from a scan of every entry's metadata; null while a first scan of a large store is
   * still running (`entriesPending`): the counters do not wait for it, ask again in a moment.
   */
  entries: EntriesOverview | null;
  entriesPending: boolean;
  /**
   * The ten most-hit entries (key digest, model, age, hits, last hit), from the per-entry hit counts the caches
   * flush with `persistStats`; null while no entry has any.
   */
  top: EntryItem[] | null;
  /** State of the process serving the page (the proxy), or null where it has none of its own (the CLI). */
  live: { breaker: { state: string; opens: number }; errors: number; evictions: number } | null;
}

export interface OverviewOptions {
  range: StatsRange;
  namespace?: string | undefined;
  prices?: PriceTable | undefined;
  live: boolean;
  now?: number;
}

function withRequests(totals: CounterTotals): CounterSummary {
  return { ...totals, requests: totals.hits + totals.misses + totals.bypasses };
}

function histogramJson(histogram: EntrySummary['age']): HistogramJson {
  return {
    bounds: histogram.bounds.map((bound) => (Number.isFinite(bound) ? bound : null)),
    counts: [...histogram.counts],
    sum: histogram.sum,
  };
}

/** Groups joined from both sides: entries stored now, and counters of the range; largest first. */
function groups(
  stored: EntrySummary['byNamespace'],
  rows: readonly CounterRow[],
  label: 'namespace' | 'model',
  prices: PriceTable | undefined,
): GroupSummary[] {
  const counted = new Map<string, CounterRow[]>();
  for (const row of rows) {
    if (row.namespace === STORE_WIDE) continue; // evictions and errors of no entry: in the totals only
    counted.set(row[label], [...(counted.get(row[label]) ?? []), row]);
  }
  const names = new Set([...Object.keys(stored), ...counted.keys()]);
  return [...names]
    .map((name) => ({
      name,
      entries: stored[name]?.entries ?? 0,
      bytes: stored[name]?.bytes ?? 0,
      ...withRequests(totalCounters(counted.get(name) ?? [], prices)),
    }))
    .sort((a, b) => b.entries - a.entries || b.requests - a.requests || a.name.localeCompare(b.name));
}

export function summarizeRows(rows: readonly EntryRow[], now: number, namespace?: string): EntrySummary {
  const summarizer = new EntrySummarizer(now);
  for (const row of rows) if (namespace === undefined || row.namespace === namespace) summarizer.add(row);
  return summarizer.result();
}

/** Builds the overview from the store's time buckets (flushed first) and an entry snapshot. */
export async function buildOverview(
  cache: ResponseCache,
  snapshot: Snapshot | undefined,
  options: OverviewOptions,
): Promise<Overview> {
  const now = options.now ?? Date.now();
  await cache.flushStats();
  const series = await readStoredSeries(
    cache.store,
    options.namespace === undefined
      ? { range: options.range, now }
      : { range: options.range, namespace: options.namespace, now },
    options.prices,
  );
  const summary = summarizeRows(snapshot?.rows ?? [], snapshot?.takenAt ?? now, options.namespace);
  const { byNamespace, byModel, byKind, age, ttl, ...entries } = summary;
  const stats = cache.stats();
  return {
    generatedAt: now,
    store: { type: cache.store.type, sharedCounters: cache.store.sharedCounters },
    namespace: options.namespace ?? null,
    range: series.range,
    priced: options.prices !== undefined,
    totals: withRequests(series.totals),
    series: series.points,
    namespaces: groups(byNamespace, series.rows, 'namespace', options.prices),
    models: groups(byModel, series.rows, 'model', options.prices),
    kinds: Object.entries(byKind)
      .map(([name, group]) => ({ name, ...group }))
      .sort((a, b) => b.entries - a.entries || a.name.localeCompare(b.name)),
    entries: snapshot
      ? {
          ...entries,
          age: histogramJson(age),
          ttl: histogramJson(ttl),
          scannedAt: snapshot.takenAt,
          scanMs: snapshot.scanMs,
        }
      : null,
    entriesPending: snapshot === undefined,
    top: snapshot ? topEntries(snapshot.rows, options.namespace) : null,
    live: options.live
      ? { breaker: stats.breaker ?? { state: 'closed', opens: 0 }, errors: stats.errors, evictions: stats.evictions }
      : null,
  };
}
