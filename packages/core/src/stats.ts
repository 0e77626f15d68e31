import { COUNTER_FIELDS, type CounterField, type CounterRow, emptyCounters } from './counters.js';
import { LlmemoError } from './errors.js';
import { bucketStart } from './series.js';

/** Price of a model per 1M tokens, in the currency of your choice (the sums use the same unit). */
export interface ModelPrice {
  input: number;
  output: number;
}

/** Keyed by the model id as requested (`request.model`), e.g. `{ 'gpt-4o-mini': { input: 0.15, output: 0.6 } }`. */
export type PriceTable = Record<string, ModelPrice>;

export interface ModelStats {
  hits: number;
  misses: number;
  tokensSaved: { input: number; output: number };
  /** Present when the price table has this model. */
  moneySaved?: number;
}

/** Running counters for one cache instance (this process only). */
export interface CacheStats {
  hits: number;
  staleHits: number;
  misses: number;
  writes: number;
  errors: number;
  /** Calls that went straight to compute: mode 'off', or a request that cannot be keyed. */
  bypasses: number;
  /** Callers that shared another caller's in-flight computation instead of computing themselves. */
  coalesced: number;
  /** Values not stored: too large, unserializable, not cacheable, or noStore. */
  skips: number;
  evictions: number;
  bytesWritten: number;
  /** Tokens the hits did not spend (from the usage each entry recorded). */
  tokensSaved: { input: number; output: number };
  /** The compute time the hits did not wait for: the sum of each served entry's recorded compute duration. */
  timeSavedMs: number;
  /** Money the hits did not spend, from the `prices` option (undefined without one). */
  moneySaved?: number;
  /** Hits, misses and savings per requested model id. */
  models: Record<string, ModelStats>;
  /** hits / (hits + misses); 0 before any lookup. */
  hitRate: number;
  /** The store's circuit breaker: 'open' means the store is being skipped; `opens` counts how often it tripped. */
  breaker?: { state: 'closed' | 'open' | 'half-open'; opens: number };
}

interface ModelCounters {
  hits: number;
  misses: number;
  input: number;
  output: number;
}

export class StatsCounter {
  hits = 0;
  staleHits = 0;
  misses = 0;
  writes = 0;
  errors = 0;
  bypasses = 0;
  coalesced = 0;
  skips = 0;
  evictions = 0;
  bytesWritten = 0;
  inputTokensSaved = 0;
  outputTokensSaved = 0;
  timeSavedMs = 0;
  private readonly models = new Map<string, ModelCounters>();

  constructor(private readonly prices?: PriceTable) {}

  private model(id: string): ModelCounters {
    let counters = this.models.get(id);
    if (!counters) {
      counters = { hits: 0, misses: 0, input: 0, output: 0 };
      this.models.set(id, counters);
    }
    return counters;
  }

  hit(model: string, input: number, output: number, computeMs = 0): void {
    this.hits++;
    this.timeSavedMs += computeMs;
    this.inputTokensSaved += input;
    this.outputTokensSaved += output;
    const counters = this.model(model);
    counters.hits++;
    counters.input += input;
    counters.output += output;
  }

  miss(model: string): void {
    this.misses++;
    this.model(model).misses++;
  }

  /** Takes back a miss that ended as a stale hit. */
  unmiss(model: string): void {
    this.misses--;
    this.model(model).misses--;
  }

  snapshot(): CacheStats {
    const lookups = this.hits + this.misses;
    const models: Record<string, ModelStats> = {};
    let moneySaved: number | undefined = this.prices ? 0 : undefined;
    for (const [id, counters] of this.models) {
      const entry: ModelStats = {
        hits: counters.hits,
        misses: counters.misses,
        tokensSaved: { input: counters.input, output: counters.output },
      };
      const money = cost(this.prices, id, counters.input, counters.output);
      if (money !== undefined) {
        entry.moneySaved = money;
        moneySaved = (moneySaved ?? 0) + money;
      }
      models[id] = entry;
    }
    const stats: CacheStats = {
      hits: this.hits,
      staleHits: this.staleHits,
      misses: this.misses,
      writes: this.writes,
      errors: this.errors,
      bypasses: this.bypasses,
      coalesced: this.coalesced,
      skips: this.skips,
      evictions: this.evictions,
      bytesWritten: this.bytesWritten,
      tokensSaved: { input: this.inputTokensSaved, output: this.outputTokensSaved },
      timeSavedMs: this.timeSavedMs,
      models,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
    };
    if (moneySaved !== undefined) stats.moneySaved = moneySaved;
    return stats;
  }
}

/** The price of the given tokens for a model, or undefined when the table does not list it. */
export function cost(prices: PriceTable | undefined, model: string, input: number, output: number): number | undefined {
  const price = prices && Object.hasOwn(prices, model) ? prices[model] : undefined;
  if (!price) return undefined;
  return (input * price.input + output * price.output) / 1_000_000;
}

export function resolvePrices(option: unknown, name = 'prices'): PriceTable | undefined {
  if (option === undefined) return undefined;
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      `${name} must map model ids to { input, output } prices per 1M tokens, e.g. { 'gpt-4o-mini': { input: 0.15, output: 0.6 } }.`,
    );
  }
  const table: PriceTable = {};
  for (const [model, price] of Object.entries(option)) {
    const { input, output } = (price ?? {}) as Partial<ModelPrice>;
    const valid = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
    if (!valid(input) || !valid(output)) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `${name}[${JSON.stringify(model)}] must be { input, output } with non-negative numbers (price per 1M tokens); got ${JSON.stringify(price)}.`,
      );
    }
    table[model] = { input: input!, output: output! };
  }
  return table;
}

/**
 * Counter deltas waiting to be added to the store's shared counters, per minute, namespace and model. The hit path
 * only bumps a number here; a timer (and close) sends them in one batched write, off every request's critical
 * path. Each row carries its minute (`at`), so the store adds it to the totals and to that minute's and hour's
 * buckets in the same write.
 */
export class CounterBuffer {
  private pending = new Map<string, CounterRow>();
  /** The row `current` returned last: a run of calls on one model and minute looks nothing up. */
  private last: CounterRow | undefined;

  add(namespace: string, model: string, field: CounterField, amount: number, now = Date.now()): void {
    if (amount === 0) return;
    this.current(namespace, model, now)[field] += amount;
  }

  /** The pending row of this minute for (namespace, model), to bump several fields of at once. */
  current(namespace: string, model: string, now = Date.now()): CounterRow {
    const at = bucketStart(now, 'minute');
    const last = this.last;
    if (last !== undefined && last.at === at && last.model === model && last.namespace === namespace) return last;
    this.last = this.row(namespace, model, at);
    return this.last;
  }

  private row(namespace: string, model: string, at: number): CounterRow {
    const id = `${at}\u0000${namespace}\u0000${model}`;
    let row = this.pending.get(id);
    if (!row) {
      row = { ...emptyCounters(namespace, model), at };
      this.pending.set(id, row);
    }
    return row;
  }

  get empty(): boolean {
    return this.pending.size === 0;
  }

  take(): CounterRow[] {
    const rows = [...this.pending.values()];
    this.pending = new Map();
    this.last = undefined;
    return rows;
  }

  /** Puts deltas back after a failed flush, so an outage delays counts instead of losing them. */
  restore(rows: CounterRow[]): void {
    for (const row of rows) {
      const target = this.row(row.namespace, row.model, row.at ?? bucketStart(Date.now(), 'minute'));
      for (const field of COUNTER_FIELDS) target[field] += row[field];
    }
  }

  /** Drops pending deltas of a purged namespace (or all), so a flush cannot resurrect its counters. */
  drop(namespace?: string): void {
    this.last = undefined;
    for (const [id, row] of this.pending) {
      if (namespace === undefined || row.namespace === namespace) this.pending.delete(id);
    }
  }
}

/** Sums counter rows; `hitRate` and, given prices, `moneySaved`. */
export interface CounterTotals extends Omit<CounterRow, 'namespace' | 'model' | 'at'> {
  hitRate: number;
  moneySaved?: number;
}

export function totalCounters(rows: readonly CounterRow[], prices?: PriceTable): CounterTotals {
  const totals: CounterTotals = { ...emptyCounters('', ''), hitRate: 0 };
  delete (totals as Partial<CounterRow>).namespace;
  delete (totals as Partial<CounterRow>).model;
  delete (totals as Partial<CounterRow>).at;
  for (const row of rows) {
    for (const field of COUNTER_FIELDS) totals[field] += row[field];
    const money = cost(prices, row.model, row.inputTokensSaved, row.outputTokensSaved);
    if (money !== undefined) totals.moneySaved = (totals.moneySaved ?? 0) + money;
  }
  if (prices && totals.moneySaved === undefined) totals.moneySaved = 0;
  const lookups = totals.hits + totals.misses;
  totals.hitRate = lookups === 0 ? 0 : totals.hits / lookups;
  return totals;
}
