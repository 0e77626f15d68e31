import Keyv from 'keyv';
import { LRUCache } from 'lru-cache';
import { KeyvStore } from './store.js';

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

export function createMemoryStore(options: MemoryStoreOptions = {}): KeyvStore {
  const adapter = new LruMapStore(options);
  const keyv = new Keyv({
    store: adapter,
    namespace: undefined,
    useKeyPrefix: false,
    serialize: undefined,
    deserialize: undefined,
    throwOnErrors: true,
  });
  keyv.on('error', () => {});
  return new KeyvStore('memory', keyv);
}
