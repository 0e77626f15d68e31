/**
 * Running counters per namespace and model, kept in the store so another process (the CLI) can read them. The
 * row with namespace '' (never a valid namespace) holds what belongs to no entry: evictions, errors without a key.
 */
export interface CounterRow {
  namespace: string;
  model: string;
  /** Every hit, stale ones included. */
  hits: number;
  /** Hits served from an expired entry (stale-while-revalidate, stale-if-error, replay). */
  staleHits: number;
  misses: number;
  /** Calls that went straight to compute: mode 'off', an unkeyable request, a closed cache. */
  bypasses: number;
  writes: number;
  bytesWritten: number;
  inputTokensSaved: number;
  outputTokensSaved: number;
  /** The summed compute time of the entries the hits served: time the callers did not wait. */
  timeSavedMs: number;
  errors: number;
  evictions: number;
  /**
   * Set on deltas that also go to a time bucket: the start of their minute (epoch ms). A store adds such a row to
   * the totals and to its minute and hour buckets; rows read back from `readCounters` have none.
   */
  at?: number;
}

export const COUNTER_FIELDS = [
  'hits',
  'misses',
  'writes',
  'bytesWritten',
  'inputTokensSaved',
  'outputTokensSaved',
  'staleHits',
  'bypasses',
  'timeSavedMs',
  'errors',
  'evictions',
] as const satisfies readonly (keyof CounterRow)[];

export type CounterField = (typeof COUNTER_FIELDS)[number];

export function emptyCounters(namespace: string, model: string): CounterRow {
  return {
    namespace,
    model,
    hits: 0,
    staleHits: 0,
    misses: 0,
    bypasses: 0,
    writes: 0,
    bytesWritten: 0,
    inputTokensSaved: 0,
    outputTokensSaved: 0,
    timeSavedMs: 0,
    errors: 0,
    evictions: 0,
  };
}
