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
  if (config.local) attachLocalTier(store, config.local);
  return store;
}

function attachLocalTier(store: CacheStore, options: NonNullable<ResolvedCacheConfig['local']>): void {
  if (store instanceof RedisStore) {
    try {
      store.attachLocalTier(options);
      return;
    } catch (error) {
      store.close().catch(() => {});
      throw error;
    }
  }
  store.close().catch(() => {});
  const why: Record<CacheStore['type'], string> = {
    memory: 'the memory:// store already lives in this process',
    sqlite:
      "sqlite:// reads are already local; a tier in front of them could only be kept correct by checking 'PRAGMA data_version' before each hit, which costs as much as the read it saves (see the README)",
    redis: 'this Redis store cannot track keys',
    file: 'file:// reads are already local files; another process rewrites them without telling this one, so a tier could only stay correct by checking each file before a hit, which costs as much as the read it saves',
    keyv: "a Keyv instance hides its backend's connection, so nothing can tell this process when another one changes a key; pass the @keyv/redis adapter itself or a redis:// URL",
    adapter:
      'only Redis tells clients when a key changes (client tracking); use a redis:// URL or a @keyv/redis adapter',
  };
  throw new LlmemoError('INVALID_OPTIONS', `local needs a store that reports changes to keys: ${why[store.type]}.`);
}
