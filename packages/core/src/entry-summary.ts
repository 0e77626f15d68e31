import type { EntryInfo } from './maintenance.js';
import { HOUR_MS, MINUTE_MS } from './series.js';

const DAY_MS = 24 * HOUR_MS;

/**
 * Upper bounds (ms) of the age and remaining-TTL histograms: a bucket counts values `<=` its bound and above the
 * previous one; the last bound is Infinity. Shared by the dashboard, `llmemo stats` and Prometheus, so every view
 * cuts the same way.
 */
export const DURATION_BOUNDS: readonly number[] = Object.freeze([
  MINUTE_MS,
  10 * MINUTE_MS,
  HOUR_MS,
  6 * HOUR_MS,
  DAY_MS,
  7 * DAY_MS,
  30 * DAY_MS,
  Number.POSITIVE_INFINITY,
]);

export interface Histogram {
  /** Upper bounds in ms (the last is Infinity; JSON shows it as null). */
  bounds: readonly number[];
  counts: number[];
  /** Sum of the values counted, in ms. */
  sum: number;
}

export interface EntryGroup {
  entries: number;
  bytes: number;
}

/** What a store holds right now, from one scan of entry metadata (no body is opened). */
export interface EntrySummary {
  entries: number;
  bytes: number;
  /** Past their expiry, not yet pruned (SQLite keeps them until `prune`). Counted in entries and bytes. */
  expired: number;
  encrypted: number;
  compressed: number;
  byNamespace: Record<string, EntryGroup>;
  byModel: Record<string, EntryGroup>;
  byKind: Record<string, EntryGroup>;
  /** Age of every entry. */
  age: Histogram;
  /** Time left before expiry, of the entries that are still fresh and expire. */
  ttl: Histogram;
  /** Fresh entries that never expire (ttl: null): in no `ttl` bucket. */
  neverExpire: number;
  /** Age quantiles in ms; null for an empty store. */
  ageQuantiles: { newest: number; median: number; p90: number; oldest: number } | null;
}

function histogram(): Histogram {
  return { bounds: DURATION_BOUNDS, counts: DURATION_BOUNDS.map(() => 0), sum: 0 };
}

function observe(target: Histogram, value: number): void {
  const index = target.bounds.findIndex((bound) => value <= bound);
  target.counts[index]!++;
  target.sum += value;
}

function addTo(groups: Record<string, EntryGroup>, name: string, bytes: number): void {
  groups[name] ??= { entries: 0, bytes: 0 };
  const group = groups[name];
  group.entries++;
  group.bytes += bytes;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** What the summary needs of an entry: its labels, size and times (epoch ms). */
export interface SummarizedEntry {
  namespace: string;
  model: string;
  kind: string;
  bytes: number;
  createdAt: number;
  /** null: never expires. */
  expiresAt: number | null;
  expired: boolean;
  encrypted: boolean;
  compressed: string | null;
}

/** An entry as `cache.entries()` lists it, in the summary's terms. */
export function summarizedEntry(entry: EntryInfo): SummarizedEntry {
  return {
    namespace: entry.namespace,
    model: entry.model,
    kind: entry.kind,
    bytes: entry.bytes,
    createdAt: entry.createdAt.getTime(),
    expiresAt: entry.expiresAt === null ? null : entry.expiresAt.getTime(),
    expired: entry.expired,
    encrypted: entry.encrypted,
    compressed: entry.compressed,
  };
}

/** Builds an EntrySummary one entry at a time (the scan is the slow part: keep only numbers). */
export class EntrySummarizer {
  private readonly summary: EntrySummary = {
    entries: 0,
    bytes: 0,
    expired: 0,
    encrypted: 0,
    compressed: 0,
    byNamespace: {},
    byModel: {},
    byKind: {},
    age: histogram(),
    ttl: histogram(),
    neverExpire: 0,
    ageQuantiles: null,
  };
  private readonly ages: number[] = [];

  constructor(private readonly now = Date.now()) {}

  add(entry: SummarizedEntry): void {
    const s = this.summary;
    s.entries++;
    s.bytes += entry.bytes;
    if (entry.encrypted) s.encrypted++;
    if (entry.compressed) s.compressed++;
    addTo(s.byNamespace, entry.namespace, entry.bytes);
    addTo(s.byModel, entry.model, entry.bytes);
    addTo(s.byKind, entry.kind, entry.bytes);
    const age = Math.max(0, this.now - entry.createdAt);
    this.ages.push(age);
    observe(s.age, age);
    if (entry.expired) s.expired++;
    else if (entry.expiresAt === null) s.neverExpire++;
    else observe(s.ttl, Math.max(0, entry.expiresAt - this.now));
  }

  result(): EntrySummary {
    if (this.ages.length > 0) {
      const sorted = Float64Array.from(this.ages).sort();
      this.summary.ageQuantiles = {
        newest: sorted[0]!,
        median: quantile(sorted, 0.5),
        p90: quantile(sorted, 0.9),
        oldest: sorted[sorted.length - 1]!,
      };
    }
    return this.summary;
  }
}

/** Summarizes entries as `cache.entries(filter, { includeExpired: true })` lists them. */
export async function summarizeEntries(entries: AsyncIterable<EntryInfo>, now = Date.now()): Promise<EntrySummary> {
  const summarizer = new EntrySummarizer(now);
  for await (const entry of entries) summarizer.add(summarizedEntry(entry));
  return summarizer.result();
}
