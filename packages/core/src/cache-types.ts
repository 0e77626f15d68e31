import type { CompressionOption } from './compression.js';
import type { CrossProcessOption } from './cross-process.js';
import type { Duration } from './duration.js';
import type { EncryptionOptions } from './encryption.js';
import type { EntryMetadata } from './envelope.js';
import type { LlmemoError } from './errors.js';
import type { EntryInfo } from './maintenance.js';
import type { MetricsOptions } from './metrics.js';
import type { CacheMode, CallOptions, NormalizeOption } from './options.js';
import type { CacheRequest } from './request.js';
import type { RangeWindow } from './series.js';
import type { CounterTotals, PriceTable } from './stats.js';
import type { LocalTierOptions } from './stores/local-tier.js';
import type { RedisStoreOptions } from './stores/redis.js';
import type { StoreInput } from './stores/resolve.js';
import type { SqliteStoreOptions } from './stores/sqlite.js';
import type { CounterRow } from './stores/store.js';

// The public option and result types of `createCache` / `ResponseCache`, apart from the class that implements them.

/** Anything with console-like methods (console, pino via a small shim, winston). */
export interface Logger {
  debug?(message: string, meta?: Record<string, unknown>): void;
  info?(message: string, meta?: Record<string, unknown>): void;
  warn?(message: string, meta?: Record<string, unknown>): void;
  error?(message: string, meta?: Record<string, unknown>): void;
}

export interface CacheOptions {
  /** 'memory://' (default), 'sqlite://<path>', 'redis://…', 'rediss://…', a Keyv instance or a Keyv storage adapter. */
  store?: StoreInput;
  /** Entries of different namespaces never meet: one per tenant, app or environment. Default 'default'. */
  namespace?: string;
  /** How long entries stay fresh: ms or '90s', '15m', '1h', '7d'; null = never expire. Default 7 days. */
  ttl?: Duration | null;
  mode?: CacheMode;
  /** How prompt text is normalized before hashing. Default: NFC, LF line endings, trimmed text parts. */
  normalize?: NormalizeOption;
  /** Every store operation gives up after this long and the call goes on without the cache. Default 100 ms. */
  timeoutMs?: number;
  /** Larger values are not stored (a `skip` event says so). Default 8 MiB. */
  maxEntryBytes?: number;
  /** Most entries kept, least recently used evicted first: memory:// (default 10,000) and sqlite:// (default none). */
  maxEntries?: number;
  /** Most bytes of entries kept, least recently used evicted first: memory:// (default 256 MiB) and sqlite://. */
  maxBytes?: number;
  /** Compress bodies above a size threshold (default 1 KiB) before any encryption. Default false. */
  compression?: CompressionOption;
  /**
   * AES-256-GCM encryption of bodies at rest: `{ key, previousKeys? }`. Without this option, LLMEMO_ENCRYPTION_KEY
   * (when set) turns it on; `false` keeps it off regardless.
   */
  encryption?: EncryptionOptions | false;
  /** OpenTelemetry metrics through `@opentelemetry/api` when installed. Default true (no-op without an SDK). */
  metrics?: boolean | MetricsOptions;
  /** Price per 1M tokens by requested model id, so stats report money saved. */
  prices?: PriceTable;
  /**
   * Keep running counters (hits, misses, tokens saved) in the store, so another process (the CLI) can read them.
   * Sent in one batched write per interval. Default true, every 10 s; false keeps them in this process only.
   */
  persistStats?: boolean | Duration;
  /**
   * Keep each entry's canonical request (what the digest is computed over: messages, parameters, model) beside
   * its answer, so a reviewer of recorded fixtures sees what was asked, and `llmemo inspect`/`ls` show it. This
   * stores prompts in the clear: off by default, and refused with `encryption`. Default false.
   */
  recordRequest?: boolean;
  /** Run `prune()` on this interval (an unref'd timer). Default '1h' for sqlite:// and memory://, false otherwise. */
  pruneInterval?: Duration | false;
  logger?: Logger;
  /** Replace key derivation: return a string that identifies the request (it is hashed, never stored as is). */
  key?: (request: CacheRequest) => string;
  /** More top-level request params to leave out of the key (added to the defaults). */
  excludeParams?: string[];
  /** More headers that change output and so belong in the key (added to the defaults, e.g. 'anthropic-beta'). */
  includeHeaders?: string[];
  sqlite?: SqliteStoreOptions;
  redis?: RedisStoreOptions;
  /**
   * Keep hot entries of a redis:// / rediss:// store (or a @keyv/redis adapter, Cluster included) in this process
   * too, kept correct by Redis itself (RESP3 client tracking): an entry leaves when Redis reports its key changed
   * or expired, or when the connection drops. `true` for the defaults (10,000 entries, 64 MiB). Default off.
   */
  local?: boolean | LocalTierOptions;
  /**
   * After an entry expires, keep serving it for this long (marked stale) while one background call per key
   * refreshes it. Entries are kept in the store this much longer than their ttl. Default 0 (off).
   */
  staleWhileRevalidate?: Duration;
  /**
   * After an entry expires, serve it for this long (marked stale) when the provider call fails with a transient
   * error (5xx, 429, timeout, network). The error still arrives as an `error` event. Default 0 (off).
   */
  staleIfError?: Duration;
  /** Which provider errors stale-if-error may cover. Default: transient ones (see `isTransientError`). */
  isTransientError?: (error: unknown) => boolean;
  /**
   * The circuit breaker around the store: after `threshold` consecutive failures or timeouts the store is skipped
   * for `cooldown`, then probed with one call. Default `{ threshold: 5, cooldown: '5s' }`; false turns it off.
   */
  breaker?: { threshold?: number; cooldown?: Duration } | false;
  /**
   * Coalesce identical misses across processes sharing one Redis: the first takes a short lock per key and calls
   * the provider; the others wait for its entry (polling) up to `wait`, then call the provider themselves.
   * Off by default (it adds a round trip to every miss). Redis stores only.
   */
  crossProcessCoalescing?: CrossProcessOption;
}

/** Per-call options plus what an adapter tells core about the computed value. */
export interface ComputeOptions<T> extends CallOptions {
  /** Whether a computed value may be stored: `false` or a reason string skips the write. */
  cacheable?: (value: T) => boolean | string;
  /** Metadata to record with the entry (tokens used, the model the provider reported). */
  metadata?: (value: T) => EntryMetadata | undefined;
  /**
   * Whether a stored value can answer this call (e.g. it lacks a field this caller needs). A refused entry is a
   * miss (reason 'unusable'), counted once as one, and the computed value replaces it.
   */
  accept?: (value: T) => boolean;
}

export interface CacheResult<T> {
  value: T;
  hit: boolean;
  stale: boolean;
  /** Milliseconds since the entry was written (0 on a miss). */
  age: number;
  /** The stored key, when the request could be keyed. */
  key?: string;
  /** True when this caller shared another caller's in-flight computation. */
  coalesced: boolean;
}

/** What `cache.lookup` returns: a hit, or a miss whose value the caller commits once it is complete. */
export type Lookup<T> =
  | { hit: true; value: T; age: number; stale: boolean; key: string }
  | {
      hit: false;
      /** Undefined when the cache is bypassed (mode 'off', an unkeyable request, a closed cache). */
      key?: string;
      /** Stores the complete value (once; later calls are ignored). Resolves true when it was written. */
      commit(value: T, options?: { metadata?: EntryMetadata }): Promise<boolean>;
      /**
       * When the provider call fails: the expired entry to serve instead, if stale-if-error covers this error
       * (it is counted and reported as a stale hit, the error as an `error` event); otherwise undefined.
       */
      fallback(error: unknown): { value: T; age: number } | undefined;
      /**
       * The value will not be committed because the adapter judged it not cacheable (a refused finish, a tool call
       * with side effects): a `skip` event (NOT_CACHEABLE) says `reason`. Ends the lookup like a commit.
       */
      skip(reason: string): void;
      /**
       * Ends the lookup without writing and without an event, for a caller that stores the value another way (e.g.
       * `cache.set`) or not at all (the provider failed, the caller gave up). Until a miss is ended by `commit`,
       * `skip` or `release`, it holds the store it was read from, and `useStore()` waits for it (up to its drain
       * timeout) before closing that store. Once; later calls, and a `commit` after it, are ignored.
       */
      release(): void;
    };

/** Options of `cache.lookup`. */
export interface LookupOptions<T> extends CallOptions {
  /**
   * How to refresh a stale entry in the background (stale-while-revalidate): resolve the fresh value to store,
   * or undefined to store nothing. Without it, a stale entry within the window is served as a miss instead.
   */
  revalidate?: () => Promise<{ value: T; metadata?: EntryMetadata } | undefined>;
  /** Whether a stored value can answer this call; a refused entry is a miss (reason 'unusable'). */
  accept?: (value: T) => boolean;
}

export interface CacheEntry<T> {
  value: T;
  key: string;
  age: number;
  stale: boolean;
  createdAt: Date;
  expiresAt: Date | null;
  metadata: EntryMetadata;
}

/** What `cache.inspect(key)` returns: the entry's metadata, and its value when it could be opened. */
export interface InspectedEntry {
  info: EntryInfo;
  value?: unknown;
  /** Why the value could not be opened (DECRYPT_FAILED without the right key, CORRUPT_ENTRY). */
  error?: LlmemoError;
}

/** Counters kept in the store by every process using it (see `persistStats`). */
export interface StoredStats {
  /** One row per namespace and requested model (namespace '' holds evictions and errors of no entry). */
  rows: CounterRow[];
  totals: CounterTotals;
  /** With `range`: the time buckets read, `[from, to)`. */
  range?: RangeWindow;
}
