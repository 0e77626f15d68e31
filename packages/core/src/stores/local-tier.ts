import { LRUCache } from 'lru-cache';
import { LlmemoError } from '../errors.js';

/** `createCache({ local })`: the in-process tier in front of a shared store. */
export interface LocalTierOptions {
  /** Most entries kept in this process; the least recently used go first. Default 10,000. */
  maxEntries?: number;
  /** Most bytes of stored entries kept in this process. Default 64 MiB. */
  maxBytes?: number;
}

export const DEFAULT_LOCAL_MAX_ENTRIES = 10_000;
export const DEFAULT_LOCAL_MAX_BYTES = 64 * 1024 * 1024;

/** The stored text and the store-level expiry, exactly as the shared store holds them. */
export interface TierEntry {
  value: string;
  expires?: number | undefined;
}

/** One read from the shared store whose answer may fill the tier, unless an invalidation overtook it. */
export interface TierRead {
  readonly key: string;
  readonly epoch: number;
  overtaken: boolean;
}

/** Validates `createCache({ local })`; undefined when the tier is off. */
export function resolveLocalTier(option: unknown): Readonly<Required<LocalTierOptions>> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) {
    return Object.freeze({ maxEntries: DEFAULT_LOCAL_MAX_ENTRIES, maxBytes: DEFAULT_LOCAL_MAX_BYTES });
  }
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      'local must be true, false or { maxEntries?: number, maxBytes?: number }.',
    );
  }
  const resolved = { maxEntries: DEFAULT_LOCAL_MAX_ENTRIES, maxBytes: DEFAULT_LOCAL_MAX_BYTES };
  for (const [name, value] of Object.entries(option)) {
    if (name !== 'maxEntries' && name !== 'maxBytes') {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `local has no option '${name}'; the options are 'maxEntries', 'maxBytes'.`,
      );
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new LlmemoError('INVALID_OPTIONS', `local.${name} must be a positive integer; got ${String(value)}.`);
    }
    resolved[name] = value;
  }
  return Object.freeze(resolved);
}

/**
 * Entries of a shared store kept in this process, correct only as long as the store tells it about every change:
 * the owner calls `invalidate` for each key the store reports changed (and for its own writes), and `flush` when
 * the report stream may have a gap (disconnect, reconnect, topology change). It never guesses a lifetime: an entry
 * leaves on an invalidation, a flush, its stored expiry, or LRU eviction.
 *
 * The race it guards: a read's reply can reach this process after the invalidation of the value it carries (the
 * reply was on its way when another process wrote). Every read takes a `TierRead` first; an invalidation of its key
 * or any flush while it is in flight marks it overtaken, and an overtaken read never fills the tier.
 */
export class LocalTier {
  private readonly lru: LRUCache<string, TierEntry>;
  private readonly inFlight = new Map<string, Set<TierRead>>();
  /** Bumped by every flush: a read begun in an earlier epoch may carry a value the flush was meant to drop. */
  private epoch = 0;
  /** While suspended (the invalidation stream may have stalled), nothing is served or kept. */
  private suspended = false;

  constructor(options: Readonly<Required<LocalTierOptions>>) {
    this.lru = new LRUCache<string, TierEntry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      // UTF-16 code units * 2 bound the heap a string holds; the key counts too.
      sizeCalculation: (entry, key) => Math.max(1, entry.value.length * 2 + key.length * 2),
    });
  }

  get size(): number {
    return this.lru.size;
  }

  /** The entry when this process holds it and its stored expiry has not passed. */
  get(key: string, now = Date.now()): string | undefined {
    if (this.suspended) return undefined;
    const entry = this.lru.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires !== undefined && entry.expires <= now) {
      this.lru.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Call before sending a read whose answer may fill the tier. */
  begin(key: string): TierRead {
    const read: TierRead = { key, epoch: this.epoch, overtaken: false };
    let reads = this.inFlight.get(key);
    if (reads === undefined) {
      reads = new Set();
      this.inFlight.set(key, reads);
    }
    reads.add(read);
    return read;
  }

  /** The read's answer (undefined: absent or failed): kept only when nothing overtook it. */
  end(read: TierRead, entry: TierEntry | undefined): void {
    const reads = this.inFlight.get(read.key);
    if (reads !== undefined) {
      reads.delete(read);
      if (reads.size === 0) this.inFlight.delete(read.key);
    }
    if (entry === undefined || read.overtaken || read.epoch !== this.epoch || this.suspended) return;
    if (entry.expires !== undefined && entry.expires <= Date.now()) return;
    this.lru.set(read.key, entry);
  }

  /** The store says the key changed, expired or was deleted (or this process is about to change it). */
  invalidate(keyName: string): void {
    this.lru.delete(keyName);
    const reads = this.inFlight.get(keyName);
    if (reads !== undefined) for (const read of reads) read.overtaken = true;
  }

  /** Every key starting with `prefix` (a purge by prefix). */
  invalidatePrefix(prefix: string): void {
    for (const keyName of [...this.lru.keys()]) if (keyName.startsWith(prefix)) this.lru.delete(keyName);
    for (const [keyName, reads] of this.inFlight) {
      if (keyName.startsWith(prefix)) for (const read of reads) read.overtaken = true;
    }
  }

  /** Drops everything, including what reads in flight would bring back. */
  flush(): void {
    this.epoch++;
    this.lru.clear();
  }

  /** Flushes and stops serving and keeping entries until `resume` (the stream of invalidations went quiet). */
  suspend(): void {
    this.flush();
    this.suspended = true;
  }

  resume(): void {
    if (!this.suspended) return;
    this.flush();
    this.suspended = false;
  }
}
