import { LRUCache } from 'lru-cache';
import { rawKeyv } from './raw-keyv.js';
import { BATCH_SIZE, KeyvStore, type ScannedEntry } from './store.js';

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
