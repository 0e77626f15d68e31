import { LlmemoError } from './errors.js';
import type { ResolvedCacheConfig } from './options.js';
import type { FileStoreOptions } from './stores/file.js';
import type { MemoryStoreOptions } from './stores/memory.js';
import { RedisStore } from './stores/redis.js';
import { resolveStore } from './stores/resolve.js';
import type { SqliteStoreOptions } from './stores/sqlite.js';
import type { CacheStore } from './stores/store.js';

/**
 * Builds the cache's store from its config, with the size bounds and eviction callback the bounded stores take, and
 * rejects (closing what it opened) the combinations a store cannot honour.
 */
export function openStore(config: ResolvedCacheConfig, onEvict: (count: number) => void): CacheStore {
  const memory: MemoryStoreOptions = { onEvict: () => onEvict(1) };
  const sqlite: SqliteStoreOptions = { ...config.sqlite, onEvict };
  const file: FileStoreOptions = { onEvict };
  if (config.bounds?.maxEntries !== undefined) {
    memory.maxEntries = sqlite.maxEntries = file.maxEntries = config.bounds.maxEntries;
  }
  if (config.bounds?.maxBytes !== undefined) memory.maxBytes = sqlite.maxBytes = file.maxBytes = config.bounds.maxBytes;
  const store = resolveStore(config.store, { memory, sqlite, redis: config.redis, file });
  if (config.bounds && store.type !== 'memory' && store.type !== 'sqlite' && store.type !== 'file') {
    store.close().catch(() => {});
    throw new LlmemoError(
      'INVALID_OPTIONS',
      store.type === 'redis'
        ? "maxEntries/maxBytes bound memory://, sqlite:// and file:// stores. Redis evicts by itself: set maxmemory and maxmemory-policy 'allkeys-lru' (or 'volatile-lru') on the server."
        : `maxEntries/maxBytes bound memory://, sqlite:// and file:// stores, not a ${store.type} store; bound it in the backend.`,
    );
  }
  if (config.crossProcess && !(store instanceof RedisStore)) {
    store.close().catch(() => {});
    throw new LlmemoError(
      'INVALID_OPTIONS',
      `crossProcessCoalescing needs a redis:// store (it locks in Redis); this cache uses a ${store.type} store.`,
    );
  }
  return store;
}
