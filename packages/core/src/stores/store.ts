import type Keyv from 'keyv';
import type { CounterRow } from '../counters.js';
import { LlmemoError } from '../errors.js';
import { type HitRow, hitPrefix, LocalHits } from '../hits.js';
import { LocalCounters, type SeriesResolution, type SeriesRow } from '../series.js';

/** One stored entry as a scan returns it: our encoded text, and the store-level expiry when it has one. */
export interface ScannedEntry {
  key: string;
  value: string;
  /** Epoch ms after which the store considers the entry gone (Keyv's `expires`); undefined = never. */
  expires?: number | undefined;
}

export type { CounterField, CounterRow } from '../counters.js';
export { COUNTER_FIELDS, emptyCounters } from '../counters.js';
export type { HitRow } from '../hits.js';

/** How many keys one backend round trip handles in scans and batched deletes. */
export const BATCH_SIZE = 500;

/**
 * What the cache needs from a store. Every implementation is a thin layer over a Keyv instance, so any Keyv
 * adapter works; the maintenance operations (scan by prefix, prefix deletes, pruning, shared counters) use the
 * backend's own query language in the built-in stores and fall back to Keyv's iterator for others.
 */
export interface CacheStore {
  /** 'memory', 'sqlite', 'redis', 'file'; 'keyv' for a Keyv instance the app built, 'adapter' for a bare Keyv adapter. */
  readonly type: 'memory' | 'sqlite' | 'redis' | 'file' | 'keyv' | 'adapter';
  readonly keyv: Keyv;
  get(key: string): Promise<string | undefined>;
  /**
   * The entry from an in-process tier kept correct by the backend (see local-tier.ts), synchronously; undefined
   * when this process does not hold it (then `get` asks the backend).
   */
  cached?(key: string): string | undefined;
  /**
   * For a store held in this process (memory://): what `get` resolves, answered synchronously (throws what `get`
   * rejects with). Lets a read that needs no I/O skip the promises of an asynchronous one.
   */
  getNow?(key: string): string | undefined;
  set(key: string, value: string, ttlMs: number | undefined): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Where the entry of a key lives, for messages (the file of a file:// store); undefined: the key says it. */
  locate?(key: string): string;
  /** Resolves once the backend is usable (connection open, schema in place). */
  ready(): Promise<void>;
  close(): Promise<void>;

  /** One entry as stored, without side effects (an expired entry is returned, not deleted). */
  peek(key: string): Promise<ScannedEntry | undefined>;
  /** Batches of the entries whose key starts with `prefix`, in no particular order. */
  scan(prefix: string): AsyncIterable<ScannedEntry[]>;
  /** Batches of the keys that start with `prefix` (without reading values where the backend allows). */
  scanKeys(prefix: string): AsyncIterable<string[]>;
  /** Deletes these keys; resolves how many existed. */
  deleteKeys(keys: readonly string[]): Promise<number>;
  /** Deletes every key that starts with `prefix` (an exact prefix: no wildcard can widen it). */
  deletePrefix(prefix: string): Promise<number>;
  /** Deletes entries whose store-level expiry has passed (and enforces size bounds); resolves how many. */
  prune(now?: number): Promise<number>;
  /** How many keys start with `prefix`, when the backend can tell cheaply. */
  count(prefix: string): Promise<number | undefined>;
  /** False when deleting keys during a scan could make the scan skip entries (the purge then deletes at the end). */
  readonly deleteWhileScanning: boolean;

  /** Whether counters outlive this process (the CLI can read them). */
  readonly sharedCounters: boolean;
  /**
   * Adds counter deltas to the totals and, for rows with `at`, to their minute and hour buckets (see series.ts),
   * with increments only, so any number of processes add up exactly.
   */
  addCounters(rows: readonly CounterRow[]): Promise<void>;
  readCounters(namespace?: string): Promise<CounterRow[]>;
  /** The buckets of one resolution that start in `[from, to)`, per namespace and model. */
  readSeries(resolution: SeriesResolution, from: number, to: number, namespace?: string): Promise<SeriesRow[]>;
  /** Deletes the counters (totals and buckets) and per-entry hits of one namespace, or of all. */
  deleteCounters(namespace?: string): Promise<void>;

  /** Adds per-entry hit counts and last-hit times (see hits.ts); sent in batches by the stats flush. */
  addHits(rows: readonly HitRow[]): Promise<void>;
  /** The hit records of these keys; a key never hit (or hit before tracking) is absent. */
  readHits(keys: readonly string[]): Promise<Map<string, HitRow>>;
}

function unsupported(type: string): LlmemoError {
  return new LlmemoError(
    'UNSUPPORTED',
    `This ${type} store cannot list its entries (its Keyv adapter has no iterator), so it cannot be scanned or purged by filter. Use memory://, sqlite:// or redis://, or delete single entries with cache.delete().`,
  );
}

/** The Keyv wrapper every built-in store shares: values are our own encoded strings, keys are used as given. */
/**
 * The store answered, but what it holds under the key is not an llmemo entry (another app's value, a truncated or
 * hand-edited row). The cache treats it as a corrupt entry (deleted, a miss), never as a store failure, so bad data
 * cannot trip the circuit breaker.
 */
export class CorruptStoredValue extends Error {
  override readonly name = 'CorruptStoredValue';
}

export class KeyvStore implements CacheStore {
  readonly sharedCounters: boolean = false;
  readonly deleteWhileScanning: boolean = false;
  private readonly localCounters = new LocalCounters();
  private readonly localHits = new LocalHits();

  constructor(
    readonly type: CacheStore['type'],
    readonly keyv: Keyv,
    private readonly onReady: () => Promise<void> = async () => {},
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  async get(key: string): Promise<string | undefined> {
    let value: unknown;
    try {
      value = await this.keyv.get<unknown>(key);
    } catch (error) {
      // Keyv parses the stored wrapper inside get(): a parse failure is bad data under the key, not a sick store.
      if (error instanceof SyntaxError) throw new CorruptStoredValue('the stored value is not valid JSON');
      throw error;
    }
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new CorruptStoredValue(`the store holds a ${typeof value}, not an entry`);
    return value;
  }

  async set(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    const ok = await this.keyv.set(key, value, ttlMs);
    if (ok === false) throw new Error('the store refused the write');
  }

  async delete(key: string): Promise<boolean> {
    return this.keyv.delete(key);
  }

  ready(): Promise<void> {
    return this.onReady();
  }

  close(): Promise<void> {
    return this.onClose();
  }

  // Fallbacks over Keyv's iterator, for Keyv instances and adapters the app brings. Keyv hides and deletes
  // expired entries while it iterates, and some adapters page with OFFSET, so deletes wait for the scan's end.

  async peek(key: string): Promise<ScannedEntry | undefined> {
    // Keyv's get hides (and deletes) an expired entry; adapters without an iterator give no other way in.
    const value = await this.get(key);
    return value === undefined ? undefined : { key, value };
  }

  async *scan(prefix: string): AsyncIterable<ScannedEntry[]> {
    const iterator = (this.keyv as unknown as { iterator?: () => AsyncIterable<[unknown, unknown]> }).iterator;
    if (typeof iterator !== 'function') throw unsupported(this.type);
    let batch: ScannedEntry[] = [];
    for await (const [key, value] of iterator.call(this.keyv)) {
      if (typeof key !== 'string' || !key.startsWith(prefix) || typeof value !== 'string') continue;
      batch.push({ key, value });
      if (batch.length >= BATCH_SIZE) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async *scanKeys(prefix: string): AsyncIterable<string[]> {
    for await (const batch of this.scan(prefix)) yield batch.map((entry) => entry.key);
  }

  async deleteKeys(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) if (await this.keyv.delete(key)) deleted++;
    return deleted;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const batch of this.scanKeys(prefix)) keys.push(...batch);
    return this.deleteKeys(keys);
  }

  async prune(now = Date.now()): Promise<number> {
    // Keyv's iterator deletes what it finds expired by itself (uncounted); our envelopes' expiry catches the rest.
    const expired: string[] = [];
    for await (const batch of this.scan('')) {
      for (const entry of batch) {
        const expires = entry.expires ?? envelopeExpiry(entry.value);
        if (expires !== undefined && expires <= now) expired.push(entry.key);
      }
    }
    return this.deleteKeys(expired);
  }

  async count(_prefix: string): Promise<number | undefined> {
    return undefined;
  }

  // Counters: in this process only, unless a subclass keeps them in the backend.

  async addCounters(rows: readonly CounterRow[]): Promise<void> {
    this.localCounters.add(rows);
  }

  async readCounters(namespace?: string): Promise<CounterRow[]> {
    return this.localCounters.read(namespace);
  }

  async readSeries(resolution: SeriesResolution, from: number, to: number, namespace?: string): Promise<SeriesRow[]> {
    return this.localCounters.readSeries(resolution, from, to, namespace);
  }

  async deleteCounters(namespace?: string): Promise<void> {
    this.localCounters.delete(namespace);
    this.localHits.deletePrefix(hitPrefix(namespace));
  }

  // Per-entry hits: in this process only, unless a subclass keeps them in the backend.

  async addHits(rows: readonly HitRow[]): Promise<void> {
    this.localHits.add(rows);
  }

  async readHits(keys: readonly string[]): Promise<Map<string, HitRow>> {
    return this.localHits.read(keys);
  }
}

/** An llmemo envelope's `expiresAt`, or undefined for text that is not one or never expires. */
export function envelopeExpiry(text: string): number | undefined {
  try {
    const expiresAt = (JSON.parse(text) as { expiresAt?: unknown }).expiresAt;
    return typeof expiresAt === 'number' ? expiresAt : undefined;
  } catch {
    return undefined;
  }
}

/** The smallest string greater than every string that starts with `prefix` (for `key >= p AND key < end`). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return '\uffff';
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/** Keyv's stored JSON `{ value, expires }` → our text and its expiry; undefined for anything else. */
export function parseWrapper(raw: unknown): { value: string; expires?: number } | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const data = JSON.parse(raw) as { value?: unknown; expires?: unknown };
    if (typeof data?.value !== 'string') return undefined;
    return typeof data.expires === 'number' ? { value: data.value, expires: data.expires } : { value: data.value };
  } catch {
    return undefined;
  }
}
