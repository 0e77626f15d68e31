import { Keyv as KeyvModule } from 'keyv';
import { LlmemoError } from '../errors.js';
import { FileStore, type FileStoreOptions } from './file.js';
import { createMemoryStore, type MemoryStoreOptions } from './memory.js';
import { rawKeyv } from './raw-keyv.js';
import { isKeyvRedisAdapter, RedisStore, type RedisStoreOptions } from './redis.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import { type CacheStore, KeyvStore } from './store.js';

const Keyv = KeyvModule;
type KeyvInstance = InstanceType<typeof KeyvModule>;

export interface StoreOptions {
  memory?: MemoryStoreOptions;
  sqlite?: SqliteStoreOptions;
  redis?: RedisStoreOptions;
  file?: FileStoreOptions;
}

/** What `createCache({ store })` accepts. */
export type StoreInput = string | CacheStore | KeyvInstance | KeyvStorageAdapterLike;

/** The shape of any Keyv storage adapter (@keyv/redis, @keyv/sqlite, @keyv/postgres, a Map, …). */
export interface KeyvStorageAdapterLike {
  get(key: string): unknown;
  set(key: string, value: unknown, ttl?: number): unknown;
  delete(key: string): unknown;
  clear(): unknown;
}

const SCHEMES = "'memory://', 'sqlite://<path>', 'file://<dir>', 'redis://…' or 'rediss://…'";

function isKeyv(value: object): value is KeyvInstance {
  // Duck-typed: an app may hold a Keyv from another copy of the package.
  return (
    value instanceof Keyv ||
    ('hooks' in value && 'opts' in value && typeof (value as KeyvInstance).get === 'function' && 'store' in value)
  );
}

function parseMemoryUrl(url: string): MemoryStoreOptions {
  const query = url.slice('memory://'.length).replace(/^\/?\??/, '');
  const options: MemoryStoreOptions = {};
  for (const [name, raw] of new URLSearchParams(query)) {
    const value = Number(raw);
    if ((name !== 'maxEntries' && name !== 'maxBytes') || !Number.isInteger(value) || value <= 0) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `store 'memory://' accepts ?maxEntries=<n>&maxBytes=<n> (positive integers); got '${name}=${raw}'.`,
      );
    }
    options[name] = value;
  }
  return options;
}

/** Builds the store for a URL, a Keyv instance or a Keyv adapter; throws INVALID_OPTIONS for anything else. */
export function resolveStore(input: StoreInput | undefined, options: StoreOptions = {}): CacheStore {
  if (input === undefined) return createMemoryStore(options.memory);
  if (typeof input === 'string') {
    const url = input.trim();
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    switch (scheme) {
      case 'memory':
        return createMemoryStore({ ...parseMemoryUrl(url), ...options.memory });
      case 'sqlite': {
        if (url === 'sqlite://') {
          throw new LlmemoError(
            'INVALID_OPTIONS',
            "store 'sqlite://' needs a path, e.g. 'sqlite://.llmemo/cache.sqlite'.",
          );
        }
        return new SqliteStore(url, options.sqlite);
      }
      case 'redis':
      case 'rediss':
        return new RedisStore(url, options.redis);
      case 'file':
        return new FileStore(url, options.file);
      default:
        throw new LlmemoError(
          'INVALID_OPTIONS',
          `store must be ${SCHEMES}, a Keyv instance or a Keyv storage adapter; got ${JSON.stringify(scheme ? `${scheme}://…` : url)}.`,
        );
    }
  }
  if (input instanceof KeyvStore) return input;
  if (input && typeof input === 'object') {
    if (isKeyv(input)) {
      input.on('error', () => {});
      return new KeyvStore('keyv', input);
    }
    // A @keyv/redis adapter (a cluster, a sentinel, a client with the app's own settings) keeps the native
    // maintenance operations: SCAN per master, UNLINK, counters in hashes.
    if (isKeyvRedisAdapter(input)) return new RedisStore(input, options.redis);
    const adapter = input as KeyvStorageAdapterLike;
    if (
      typeof adapter.get === 'function' &&
      typeof adapter.set === 'function' &&
      typeof adapter.delete === 'function'
    ) {
      const keyv = rawKeyv(adapter, { json: true });
      return new KeyvStore('adapter', keyv);
    }
  }
  throw new LlmemoError('INVALID_OPTIONS', `store must be ${SCHEMES}, a Keyv instance or a Keyv storage adapter.`);
}
