import { COUNTER_FIELDS, type CounterRow, emptyCounters } from './counters.js';
import { LlmemoError } from './errors.js';

/**
 * Time-bucketed counters: every counter delta a cache flushes also lands in the bucket of its minute and of its
 * hour, so a dashboard can show the last day per minute and the last month per hour across every process that
 * shares the store. Buckets are plain counters (incremented, never read-modify-written), so concurrent writers
 * add up exactly, and they expire by themselves.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export type SeriesResolution = 'minute' | 'hour';

/** One bucket's counters for a namespace and model; `at` is the bucket's start (epoch ms). */
export interface SeriesRow extends CounterRow {
  at: number;
}

/** How long buckets are kept: a little more than the longest range read at that resolution. */
export const SERIES_RETENTION_MS: Readonly<Record<SeriesResolution, number>> = Object.freeze({
  minute: 25 * HOUR_MS,
  hour: 31 * 24 * HOUR_MS,
});

export const UNIT_MS: Readonly<Record<SeriesResolution, number>> = Object.freeze({ minute: MINUTE_MS, hour: HOUR_MS });

export const STATS_RANGES = ['24h', '7d', '30d'] as const;
export type StatsRange = (typeof STATS_RANGES)[number];

const RANGES: Record<StatsRange, { resolution: SeriesResolution; span: number; step: number }> = {
  '24h': { resolution: 'minute', span: 24 * HOUR_MS, step: 15 * MINUTE_MS },
  '7d': { resolution: 'hour', span: 7 * 24 * HOUR_MS, step: HOUR_MS },
  '30d': { resolution: 'hour', span: 30 * 24 * HOUR_MS, step: 6 * HOUR_MS },
};

/** The buckets a range reads: `[from, to)`, ending with the unit that holds `now`, and the chart's point width. */
export interface RangeWindow {
  range: StatsRange;
  resolution: SeriesResolution;
  from: number;
  to: number;
  /** Width of one chart point (several buckets each). */
  step: number;
}

export function resolveRange(value: unknown, option = 'range'): StatsRange {
  if (typeof value === 'string' && (STATS_RANGES as readonly string[]).includes(value)) return value as StatsRange;
  throw new LlmemoError(
    'INVALID_OPTIONS',
    `${option} must be one of ${STATS_RANGES.map((r) => `'${r}'`).join(', ')}; got ${JSON.stringify(value)}.`,
  );
}

export function rangeWindow(range: StatsRange, now = Date.now()): RangeWindow {
  const { resolution, span, step } = RANGES[resolveRange(range)];
  const unit = UNIT_MS[resolution];
  const to = Math.floor(now / unit) * unit + unit;
  return { range, resolution, from: to - span, to, step };
}

export function bucketStart(at: number, resolution: SeriesResolution): number {
  const unit = UNIT_MS[resolution];
  return Math.floor(at / unit) * unit;
}

/** Adds one row's counters into another. */
export function addInto(target: CounterRow, row: CounterRow): void {
  for (const field of COUNTER_FIELDS) target[field] += row[field];
}

/**
 * What a batch of deltas adds where: per namespace and model to the totals, and the rows that carry `at` to
 * their minute and hour buckets. Stores call this so one flush is one batched write of each.
 */
export function splitDeltas(rows: readonly CounterRow[]): {
  totals: CounterRow[];
  buckets: Record<SeriesResolution, SeriesRow[]>;
} {
  const totals = new Map<string, CounterRow>();
  const buckets = { minute: new Map<string, SeriesRow>(), hour: new Map<string, SeriesRow>() };
  const into = <R extends CounterRow>(map: Map<string, R>, id: string, make: () => R, row: CounterRow) => {
    let target = map.get(id);
    if (!target) {
      target = make();
      map.set(id, target);
    }
    addInto(target, row);
  };
  for (const row of rows) {
    const id = `${row.namespace}\u0000${row.model}`;
    into(totals, id, () => emptyCounters(row.namespace, row.model), row);
    if (row.at === undefined) continue;
    for (const resolution of ['minute', 'hour'] as const) {
      const at = bucketStart(row.at, resolution);
      into(buckets[resolution], `${at}\u0000${id}`, () => ({ ...emptyCounters(row.namespace, row.model), at }), row);
    }
  }
  return {
    totals: [...totals.values()],
    buckets: { minute: [...buckets.minute.values()], hour: [...buckets.hour.values()] },
  };
}

/** Counters kept in this process only: the fallback for stores that cannot share them (memory, bare Keyv). */
export class LocalCounters {
  private readonly totals = new Map<string, CounterRow>();
  private readonly buckets: Record<SeriesResolution, Map<string, SeriesRow>> = {
    minute: new Map(),
    hour: new Map(),
  };

  add(rows: readonly CounterRow[], now = Date.now()): void {
    const split = splitDeltas(rows);
    for (const row of split.totals) {
      const id = `${row.namespace}\u0000${row.model}`;
      const total = this.totals.get(id);
      if (total) addInto(total, row);
      else this.totals.set(id, row);
    }
    for (const resolution of ['minute', 'hour'] as const) {
      const map = this.buckets[resolution];
      for (const row of split.buckets[resolution]) {
        const id = `${row.at}\u0000${row.namespace}\u0000${row.model}`;
        const bucket = map.get(id);
        if (bucket) addInto(bucket, row);
        else map.set(id, row);
      }
      const oldest = now - SERIES_RETENTION_MS[resolution];
      for (const [id, row] of map) if (row.at < oldest) map.delete(id);
    }
  }

  read(namespace?: string): CounterRow[] {
    return [...this.totals.values()].filter((row) => matches(row, namespace)).map((row) => ({ ...row }));
  }

  readSeries(resolution: SeriesResolution, from: number, to: number, namespace?: string): SeriesRow[] {
    return [...this.buckets[resolution].values()]
      .filter((row) => row.at >= from && row.at < to && matches(row, namespace))
      .map((row) => ({ ...row }));
  }

  delete(namespace?: string): void {
    for (const map of [this.totals, this.buckets.minute, this.buckets.hour] as Map<string, CounterRow>[]) {
      for (const [id, row] of map) if (matches(row, namespace)) map.delete(id);
    }
  }
}

function matches(row: CounterRow, namespace: string | undefined): boolean {
  return namespace === undefined || row.namespace === namespace;
}
