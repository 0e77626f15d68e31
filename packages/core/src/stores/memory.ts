import { LRUCache } from 'lru-cache';
import { rawKeyv } from './raw-keyv.js';
import { BATCH_SIZE, CorruptStoredValue, KeyvStore, type ScannedEntry } from './store.js';

export interface MemoryStoreOptions {
  /** Most entries kept; the least recently used go first. Default 10,000. */
  maxEntries?: number;
  /** Most bytes of encoded entries kept. Default 256 MiB. */
  maxBytes?: number;
  onEvict?: (key: string) => void;
}

interface StoredData {
  value: string;
  expires?: number;
}

export const DEFAULT_MEMORY_MAX_ENTRIES = 10_000;
export const DEFAULT_MEMORY_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The Keyv storage adapter for memory://: an lru-cache bounded by entries and bytes. Keyv hands it
 * `{ value, expires }` objects (serialization is off for memory, so a hit costs no JSON round trip).
 */
export class LruMapStore {
  readonly lru: LRUCache<string, StoredData>;
  namespace?: string;

  constructor(options: MemoryStoreOptions = {}) {
    this.lru = new LRUCache<string, StoredData>({
      max: options.maxEntries ?? DEFAULT_MEMORY_MAX_ENTRIES,
      maxSize: options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES,
      // UTF-16 code units * 2 bounds the heap a string holds; key length counts too.
      sizeCalculation: (data, key) => Math.max(1, (data.value?.length ?? 0) * 2 + key.length * 2),
      dispose: options.onEvict ? (_value, key, reason) => reason === 'evict' && options.onEvict?.(key) : undefined,
    });
  }

  get(key: string): StoredData | undefined {
    return this.lru.get(key);
  }
  set(key: string, value: StoredData): boolean {
    this.lru.set(key, value);
    return true;
  }
  delete(key: string): boolean {
    return this.lru.delete(key);
  }
  clear(): void {
    this.lru.clear();
  }
  has(key: string): boolean {
    return this.lru.has(key);
  }
  *entries(): IterableIterator<[string, StoredData]> {
    yield* this.lru.entries();
  }
}

/** memory://: maintenance operations walk the LRU directly (without touching recency). */
export class MemoryStore extends KeyvStore {
  override readonly deleteWhileScanning = true;

  constructor(readonly adapter: LruMapStore) {
    const keyv = rawKeyv(adapter, { json: false });
    super('memory', keyv);
  }

  /**
   * Keyv's `get` over the LRU without Keyv's layers: the same wrapper, the same answers (undefined for an absent or
   * expired entry, which is deleted as Keyv deletes it). Every memory hit and miss reads here, and Keyv's hooks,
   * stats and awaits cost a read more than the LRU lookup itself.
   */
  override get(key: string): Promise<string | undefined> {
    try {
      return Promise.resolve(this.getNow(key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `get`, synchronously (see CacheStore.getNow). */
  getNow(key: string): string | undefined {
    const data = this.adapter.lru.get(key);
    if (data === undefined || data === null) return undefined;
    if (typeof data.expires === 'number' && Date.now() > data.expires) {
      this.adapter.lru.delete(key);
      return undefined;
    }
    const value: unknown = data.value;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new CorruptStoredValue(`the store holds a ${typeof value}, not an entry`);
    return value;
  }

  /** Keyv's `set` over the LRU, without its layers (as for get): the same wrapper, no expiry for a TTL of 0. */
  override set(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    const ttl = ttlMs === 0 ? undefined : ttlMs;
    this.adapter.set(key, { value, expires: ttl === undefined ? undefined : Date.now() + ttl });
    return Promise.resolve();
  }

  private keysWith(prefix: string): string[] {
    const keys: string[] = [];
    for (const key of this.adapter.lru.keys()) if (key.startsWith(prefix)) keys.push(key);
    return keys;
  }

  override async peek(key: string): Promise<ScannedEntry | undefined> {
    const data = this.adapter.lru.peek(key);
    return data && typeof data.value === 'string' ? { key, value: data.value, expires: data.expires } : undefined;
  }

  override async *scan(prefix: string): AsyncIterable<ScannedEntry[]> {
    const keys = this.keysWith(prefix);
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      const batch: ScannedEntry[] = [];
      for (const key of keys.slice(start, start + BATCH_SIZE)) {
        const data = this.adapter.lru.peek(key);
        if (data && typeof data.value === 'string') batch.push({ key, value: data.value, expires: data.expires });
      }
      if (batch.length > 0) yield batch;
    }
  }

  override async *scanKeys(prefix: string): AsyncIterable<string[]> {
    const keys = this.keysWith(prefix);
    for (let start = 0; start < keys.length; start += BATCH_SIZE) yield keys.slice(start, start + BATCH_SIZE);
  }

  override async deleteKeys(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) if (this.adapter.lru.delete(key)) deleted++;
    return deleted;
  }

  override async deletePrefix(prefix: string): Promise<number> {
    return this.deleteKeys(this.keysWith(prefix));
  }

  override async prune(now = Date.now()): Promise<number> {
    const expired: string[] = [];
    for (const [key, data] of this.adapter.lru.entries()) {
      if (typeof data.expires === 'number' && data.expires <= now) expired.push(key);
    }
    return this.deleteKeys(expired);
  }

  override async count(prefix: string): Promise<number> {
    return this.keysWith(prefix).length;
  }
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(new LruMapStore(options));
}
