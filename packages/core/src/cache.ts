import { decode, encode } from './codec.js';
import type { Duration } from './duration.js';
import { ENVELOPE_VERSION, type EntryMetadata, type Envelope, validateEnvelope } from './envelope.js';
import { describeError, isLlmemoError, LlmemoError } from './errors.js';
import { type CacheEvents, type ErrorEvent, type Listener, type MissEvent, TypedEmitter } from './events.js';
import {
  DEFAULT_EXCLUDED_PARAMS,
  DEFAULT_HEADER_ALLOWLIST,
  type DerivedKey,
  deriveKey,
  type KeyDerivation,
} from './key.js';
import {
  type CacheMode,
  type CallOptions,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL_MS,
  type NormalizeOption,
  type ResolvedCallOptions,
  resolveCallOptions,
  resolveMode,
  resolveNamespace,
  resolveNormalization,
  resolvePositiveInteger,
  resolveTtl,
} from './options.js';
import type { CacheRequest } from './request.js';
import { type CacheStats, StatsCounter } from './stats.js';
import type { MemoryStoreOptions } from './stores/memory.js';
import type { RedisStoreOptions } from './stores/redis.js';
import { resolveStore, type StoreInput } from './stores/resolve.js';
import type { SqliteStoreOptions } from './stores/sqlite.js';
import type { CacheStore } from './stores/store.js';
import { withTimeout } from './timeout.js';

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
  /** memory:// bound on entry count (LRU). Default 10,000. */
  maxEntries?: number;
  /** memory:// bound on bytes held (LRU). Default 256 MiB. */
  maxBytes?: number;
  logger?: Logger;
  /** Replace key derivation: return a string that identifies the request (it is hashed, never stored as is). */
  key?: (request: CacheRequest) => string;
  /** More top-level request params to leave out of the key (added to the defaults). */
  excludeParams?: string[];
  /** More headers that change output and so belong in the key (added to the defaults, e.g. 'anthropic-beta'). */
  includeHeaders?: string[];
  sqlite?: SqliteStoreOptions;
  redis?: RedisStoreOptions;
}

/** Per-call options plus what an adapter tells core about the computed value. */
export interface ComputeOptions<T> extends CallOptions {
  /** Whether a computed value may be stored: `false` or a reason string skips the write. */
  cacheable?: (value: T) => boolean | string;
  /** Metadata to record with the entry (tokens used, the model the provider reported). */
  metadata?: (value: T) => EntryMetadata | undefined;
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
    };

export interface CacheEntry<T> {
  value: T;
  key: string;
  age: number;
  stale: boolean;
  createdAt: Date;
  expiresAt: Date | null;
  metadata: EntryMetadata;
}

const OPTION_NAMES = new Set<string>([
  'store',
  'namespace',
  'ttl',
  'mode',
  'normalize',
  'timeoutMs',
  'maxEntryBytes',
  'maxEntries',
  'maxBytes',
  'logger',
  'key',
  'excludeParams',
  'includeHeaders',
  'sqlite',
  'redis',
]);

interface Flight<T> {
  waiting: number;
  promise: Promise<{ value: T; text?: string }>;
}

type ReadOutcome<T> = { entry: Envelope<T>; reason?: undefined } | { entry?: undefined; reason: MissEvent['reason'] };

function stringList(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new LlmemoError('INVALID_OPTIONS', `${option} must be an array of strings.`);
  }
  return value;
}

function toLlmemoError(error: unknown, code: LlmemoError['code'], message: string): LlmemoError {
  if (error instanceof LlmemoError) return error;
  return new LlmemoError(code, `${message}: ${describeError(error)}`, { cause: error });
}

/**
 * The response cache: keys requests, reads and writes envelopes through a store, and never lets the store turn a
 * provider success into a failure.
 */
export class ResponseCache {
  readonly store: CacheStore;
  readonly namespace: string;
  readonly defaults: Readonly<ResolvedCallOptions>;
  readonly timeoutMs: number;
  readonly maxEntryBytes: number;
  private readonly derivation: KeyDerivation;
  private readonly emitter: TypedEmitter<CacheEvents>;
  private readonly counters = new StatsCounter();
  private readonly inflight = new Map<string, Flight<unknown>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly logger: Logger | undefined;
  private closed = false;

  constructor(options: CacheOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new LlmemoError('INVALID_OPTIONS', 'createCache(options) takes an options object.');
    }
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) {
        throw new LlmemoError(
          'INVALID_OPTIONS',
          `createCache has no option '${name}'; the options are ${[...OPTION_NAMES].map((n) => `'${n}'`).join(', ')}.`,
        );
      }
    }
    this.namespace = resolveNamespace(options.namespace ?? 'default');
    this.defaults = Object.freeze({
      mode: resolveMode(options.mode ?? 'read-write'),
      ttl: options.ttl === undefined ? DEFAULT_TTL_MS : resolveTtl(options.ttl),
      namespace: this.namespace,
      noStore: false,
    });
    this.timeoutMs = resolvePositiveInteger(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.maxEntryBytes = resolvePositiveInteger(options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES, 'maxEntryBytes');
    if (options.key !== undefined && typeof options.key !== 'function') {
      throw new LlmemoError('INVALID_OPTIONS', 'key must be a function (request) => string.');
    }
    if (options.logger !== undefined && (options.logger === null || typeof options.logger !== 'object')) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        'logger must be an object with debug/info/warn/error methods, such as console.',
      );
    }
    this.logger = options.logger;
    this.derivation = {
      normalization: resolveNormalization(options.normalize),
      excludedParams: new Set([...DEFAULT_EXCLUDED_PARAMS, ...stringList(options.excludeParams, 'excludeParams')]),
      headerAllowlist: new Set(
        [...DEFAULT_HEADER_ALLOWLIST, ...stringList(options.includeHeaders, 'includeHeaders')].map((h) =>
          h.toLowerCase(),
        ),
      ),
      custom: options.key,
    };
    const memory: MemoryStoreOptions = {
      onEvict: () => {
        this.counters.evictions++;
      },
    };
    if (options.maxEntries !== undefined) memory.maxEntries = resolvePositiveInteger(options.maxEntries, 'maxEntries');
    if (options.maxBytes !== undefined) memory.maxBytes = resolvePositiveInteger(options.maxBytes, 'maxBytes');
    this.emitter = new TypedEmitter<CacheEvents>((error) =>
      this.logger?.error?.(`llmemo: an event listener threw: ${describeError(error)}`),
    );
    this.store = resolveStore(options.store, { memory, sqlite: options.sqlite, redis: options.redis });
    if (this.store.type === 'keyv') {
      // A Keyv the app built may swallow store errors (it returns undefined); its error events are all we get.
      this.store.keyv.on('error', (error: unknown) =>
        this.reportError('store', toLlmemoError(error, 'STORE_UNAVAILABLE', 'The store reported an error')),
      );
    }
  }

  // ---------------------------------------------------------------- keys

  /** The stored key for a request (throws UNSERIALIZABLE_REQUEST for a request that cannot be keyed). */
  key(request: CacheRequest, options: { namespace?: string } = {}): string {
    const namespace = options.namespace === undefined ? this.namespace : resolveNamespace(options.namespace);
    return deriveKey(request, namespace, this.derivation).key;
  }

  private derive(request: CacheRequest, namespace: string): DerivedKey | LlmemoError {
    try {
      return deriveKey(request, namespace, this.derivation);
    } catch (error) {
      if (isLlmemoError(error, 'UNSERIALIZABLE_REQUEST')) return error;
      return new LlmemoError('UNSERIALIZABLE_REQUEST', `The request cannot be keyed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  // ---------------------------------------------------------------- the main path

  /**
   * Returns the cached value for `request`, or runs `compute` once (however many identical calls are in flight in
   * this process), returns its value, and stores it off the critical path.
   */
  async getOrCompute<T>(
    request: CacheRequest,
    compute: () => T | Promise<T>,
    options: ComputeOptions<T> = {},
  ): Promise<CacheResult<T>> {
    const started = await this.begin<T>(request, options);
    if (started.type === 'hit') return started.result;
    if (started.type === 'bypass') {
      return { value: await compute(), hit: false, stale: false, age: 0, coalesced: false };
    }
    return this.computeOnce(started.derived, request, compute, started.call, options.cacheable, options.metadata);
  }

  /**
   * The two-phase form of getOrCompute, for values that arrive over time (streams): look up now, and on a miss
   * `commit` the value once it is complete (never commit a failed or cancelled one). Honors modes like
   * getOrCompute: 'replay' throws CACHE_MISS on a miss, 'read-only' and noStore make commit a no-op.
   */
  async lookup<T>(request: CacheRequest, options: CallOptions = {}): Promise<Lookup<T>> {
    const started = await this.begin<T>(request, options);
    if (started.type === 'hit') {
      const { value, age, stale, key } = started.result;
      return { hit: true, value, age, stale, key: key! };
    }
    if (started.type === 'bypass') return { hit: false, commit: async () => false };
    const { derived, call } = started;
    let committed = false;
    return {
      hit: false,
      key: derived.key,
      commit: async (value: T, commitOptions: { metadata?: EntryMetadata } = {}) => {
        if (committed) return false;
        committed = true;
        if (call.mode === 'read-only' || call.noStore || call.ttl === 0) {
          this.skip(
            'NO_STORE',
            call.mode === 'read-only' ? "mode 'read-only' never writes." : 'noStore was set for this call.',
            derived.key,
          );
          return false;
        }
        const text = this.encodeEntry(derived, request, value, call.ttl, commitOptions.metadata);
        if (text === undefined) return false;
        const writesBefore = this.counters.writes;
        await this.write(derived, text, call.ttl);
        return this.counters.writes > writesBefore;
      },
    };
  }

  /** Resolves options and the key, and reads: a hit, a miss to compute (miss event sent), or a bypass. */
  private async begin<T>(
    request: CacheRequest,
    options: CallOptions,
  ): Promise<
    | { type: 'hit'; result: CacheResult<T> }
    | { type: 'bypass' }
    | { type: 'miss'; derived: DerivedKey; call: ResolvedCallOptions }
  > {
    const call =
      options.mode === undefined &&
      options.ttl === undefined &&
      options.namespace === undefined &&
      options.noStore === undefined
        ? this.defaults
        : resolveCallOptions(
            { mode: options.mode, ttl: options.ttl, namespace: options.namespace, noStore: options.noStore },
            this.defaults,
          );

    if (call.mode === 'off' || this.closed) {
      this.counters.bypasses++;
      if (this.closed) this.skip('CLOSED', 'The cache is closed; the call went straight to compute.');
      return { type: 'bypass' };
    }
    const derived = this.derive(request, call.namespace);
    if (derived instanceof LlmemoError) {
      if (call.mode === 'replay') {
        throw new LlmemoError('CACHE_MISS', `mode 'replay' cannot look this request up: ${derived.message}`, {
          cause: derived,
        });
      }
      this.counters.bypasses++;
      this.skip('UNSERIALIZABLE_REQUEST', derived.message);
      return { type: 'bypass' };
    }

    let reason: MissEvent['reason'] = 'refresh';
    if (call.mode !== 'refresh') {
      const found = await this.read<T>(derived);
      if (found.entry) return { type: 'hit', result: this.served(found.entry, derived, request) };
      reason = found.reason;
    }
    if (call.mode === 'replay') {
      throw new LlmemoError(
        'CACHE_MISS',
        `No cached ${request.kind} entry for this request and mode 'replay' never calls the provider. Record it with mode 'read-write' first, or check the request is identical (key …${derived.digest.slice(0, 12)}).`,
      );
    }
    this.counters.misses++;
    this.emitter.emit('miss', {
      key: derived.key,
      kind: request.kind,
      provider: request.provider,
      model: request.model,
      namespace: derived.namespace,
      reason,
    });
    return { type: 'miss', derived, call };
  }

  private served<T>(entry: Envelope<T>, derived: DerivedKey, request: CacheRequest): CacheResult<T> {
    const age = Math.max(0, Date.now() - entry.createdAt);
    this.counters.hits++;
    if (entry.usage) {
      this.counters.inputTokensSaved += entry.usage.inputTokens ?? 0;
      this.counters.outputTokensSaved += entry.usage.outputTokens ?? 0;
    }
    if (this.emitter.hasListeners('hit')) {
      this.emitter.emit('hit', {
        key: derived.key,
        kind: request.kind,
        provider: request.provider,
        model: request.model,
        namespace: derived.namespace,
        age,
        stale: false,
      });
    }
    return { value: entry.body, hit: true, stale: false, age, key: derived.key, coalesced: false };
  }

  private async computeOnce<T>(
    derived: DerivedKey,
    request: CacheRequest,
    compute: () => T | Promise<T>,
    call: ResolvedCallOptions,
    cacheable: ComputeOptions<T>['cacheable'],
    metadata: ComputeOptions<T>['metadata'],
  ): Promise<CacheResult<T>> {
    const existing = this.inflight.get(derived.key) as Flight<T> | undefined;
    if (existing) {
      existing.waiting++;
      this.counters.coalesced++;
      this.emitter.emit('coalesced', { key: derived.key, waiting: existing.waiting });
      const shared = await existing.promise;
      // Each follower gets its own copy, so no caller can mutate another's result.
      let value = shared.value;
      if (shared.text !== undefined) {
        try {
          value = (decode(shared.text) as Envelope<T>).body;
        } catch {
          // Unreachable for text we just encoded; fall back to the shared reference.
        }
      }
      return { value, hit: false, stale: false, age: 0, key: derived.key, coalesced: true };
    }

    let settleWrite: () => void = () => {};
    const writeSettled = new Promise<void>((resolve) => {
      settleWrite = resolve;
    });
    const flight: Flight<T> = {
      waiting: 1,
      promise: (async () => {
        const value = await compute();
        const text = this.store_(derived, request, value, call, cacheable, metadata, settleWrite);
        return { value, text };
      })(),
    };
    this.inflight.set(derived.key, flight as Flight<unknown>);
    // Late arrivals keep joining the flight until its write lands, so they cannot miss in the gap and recompute.
    const release = () => {
      if (this.inflight.get(derived.key) === flight) this.inflight.delete(derived.key);
    };
    flight.promise.then(() => writeSettled.then(release), release);
    const { value } = await flight.promise;
    return { value, hit: false, stale: false, age: 0, key: derived.key, coalesced: false };
  }

  /** Encodes and schedules the write; returns the encoded text (followers decode their copies from it). */
  private store_<T>(
    derived: DerivedKey,
    request: CacheRequest,
    value: T,
    call: ResolvedCallOptions,
    cacheable: ComputeOptions<T>['cacheable'],
    metadata: ComputeOptions<T>['metadata'],
    done: () => void,
  ): string | undefined {
    const verdict = cacheable ? cacheable(value) : true;
    if (verdict !== true) {
      this.skip(
        'NOT_CACHEABLE',
        typeof verdict === 'string' ? verdict : 'The adapter marked this result as not cacheable.',
        derived.key,
      );
      done();
      return undefined;
    }
    const meta = metadata ? metadata(value) : undefined;
    const text = this.encodeEntry(derived, request, value, call.ttl, meta);
    if (text === undefined) {
      done();
      return undefined;
    }
    if (call.mode === 'read-only' || call.noStore || call.ttl === 0) {
      this.skip(
        'NO_STORE',
        call.mode === 'read-only' ? "mode 'read-only' never writes." : 'noStore was set for this call.',
        derived.key,
      );
      done();
      return text;
    }
    this.write(derived, text, call.ttl).finally(done);
    return text;
  }

  private encodeEntry<T>(
    derived: DerivedKey,
    request: CacheRequest,
    value: T,
    ttl: number | null,
    meta: EntryMetadata | undefined,
  ): string | undefined {
    const now = Date.now();
    const envelope: Envelope<T> = {
      v: ENVELOPE_VERSION,
      kind: request.kind,
      ns: derived.namespace,
      provider: request.provider,
      model: request.model,
      digest: derived.digest,
      createdAt: now,
      expiresAt: ttl === null ? null : now + ttl,
      body: value,
    };
    if (request.specVersion !== undefined) envelope.specVersion = request.specVersion;
    if (meta?.responseModel !== undefined) envelope.responseModel = meta.responseModel;
    if (meta?.usage !== undefined) envelope.usage = meta.usage;
    try {
      return encode(envelope);
    } catch (error) {
      this.skip('UNSERIALIZABLE_VALUE', `The value cannot be stored: ${describeError(error)}`, derived.key);
      return undefined;
    }
  }

  private write(derived: DerivedKey, text: string, ttl: number | null): Promise<void> {
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxEntryBytes) {
      this.skip(
        'ENTRY_TOO_LARGE',
        `The entry is ${bytes} bytes, over maxEntryBytes (${this.maxEntryBytes}); it was not stored. Raise maxEntryBytes to cache values this large.`,
        derived.key,
      );
      return Promise.resolve();
    }
    const operation = withTimeout(this.store.set(derived.key, text, ttl ?? undefined), this.timeoutMs, () =>
      this.timeoutMessage('set'),
    ).then(
      () => {
        this.counters.writes++;
        this.counters.bytesWritten += bytes;
        this.emitter.emit('write', { key: derived.key, namespace: derived.namespace, bytes, ttl });
      },
      (error: unknown) => this.storeError('set', error, derived.key),
    );
    this.pending.add(operation);
    operation.finally(() => this.pending.delete(operation));
    return operation;
  }

  private async read<T>(derived: DerivedKey): Promise<ReadOutcome<T>> {
    let text: string | undefined;
    try {
      // The in-process LRU answers synchronously and cannot hang, so it skips the timer (the hit path's hottest case).
      text = await (this.store.type === 'memory'
        ? this.store.get(derived.key)
        : withTimeout(this.store.get(derived.key), this.timeoutMs, () => this.timeoutMessage('get')));
    } catch (error) {
      this.storeError('get', error, derived.key);
      return { reason: 'error' };
    }
    if (text === undefined) return { reason: 'absent' };
    let entry: Envelope<T>;
    try {
      entry = validateEnvelope<T>(decode(text), derived);
    } catch (error) {
      this.reportError(
        'decode',
        toLlmemoError(
          error,
          'CORRUPT_ENTRY',
          'The stored entry could not be decoded; it was deleted and treated as a miss',
        ),
        derived.key,
      );
      this.deleteQuietly(derived.key);
      return { reason: 'error' };
    }
    if (entry.expiresAt !== null && Date.now() >= entry.expiresAt) return { reason: 'expired' };
    return { entry };
  }

  private deleteQuietly(key: string): void {
    const operation = withTimeout(this.store.delete(key), this.timeoutMs, () => this.timeoutMessage('delete')).then(
      () => {},
      (error: unknown) => this.storeError('delete', error, key),
    );
    this.pending.add(operation);
    operation.finally(() => this.pending.delete(operation));
  }

  // ---------------------------------------------------------------- direct access

  /** The cached value for a request, or undefined (a store error is a miss plus an `error` event). */
  async get<T = unknown>(request: CacheRequest, options: { namespace?: string } = {}): Promise<T | undefined> {
    return (await this.getEntry<T>(request, options))?.value;
  }

  /** The cached value with its age and metadata, or undefined. */
  async getEntry<T = unknown>(
    request: CacheRequest,
    options: { namespace?: string } = {},
  ): Promise<CacheEntry<T> | undefined> {
    const namespace = options.namespace === undefined ? this.namespace : resolveNamespace(options.namespace);
    const derived = this.derive(request, namespace);
    if (derived instanceof LlmemoError) {
      this.skip('UNSERIALIZABLE_REQUEST', derived.message);
      return undefined;
    }
    const found = await this.read<T>(derived);
    if (!found.entry) {
      this.counters.misses++;
      return undefined;
    }
    const { value, age } = this.served(found.entry, derived, request);
    const { usage, responseModel } = found.entry;
    const metadata: EntryMetadata = {};
    if (usage) metadata.usage = usage;
    if (responseModel) metadata.responseModel = responseModel;
    return {
      value,
      key: derived.key,
      age,
      stale: false,
      createdAt: new Date(found.entry.createdAt),
      expiresAt: found.entry.expiresAt === null ? null : new Date(found.entry.expiresAt),
      metadata,
    };
  }

  /** Stores a value for a request and waits for the write. Resolves false (with an event) when it was not stored. */
  async set<T>(
    request: CacheRequest,
    value: T,
    options: { ttl?: Duration | null; namespace?: string; metadata?: EntryMetadata } = {},
  ): Promise<boolean> {
    const { metadata, ...callOptions } = options;
    const call = resolveCallOptions(callOptions, this.defaults);
    const derived = this.derive(request, call.namespace);
    if (derived instanceof LlmemoError) {
      this.skip('UNSERIALIZABLE_REQUEST', derived.message);
      return false;
    }
    const text = this.encodeEntry(derived, request, value, call.ttl, metadata);
    if (text === undefined || call.ttl === 0) return false;
    const writesBefore = this.counters.writes;
    await this.write(derived, text, call.ttl);
    return this.counters.writes > writesBefore;
  }

  /** Deletes a request's entry. Resolves true when something was deleted. */
  async delete(request: CacheRequest, options: { namespace?: string } = {}): Promise<boolean> {
    const namespace = options.namespace === undefined ? this.namespace : resolveNamespace(options.namespace);
    const derived = this.derive(request, namespace);
    if (derived instanceof LlmemoError) return false;
    try {
      return await withTimeout(this.store.delete(derived.key), this.timeoutMs, () => this.timeoutMessage('delete'));
    } catch (error) {
      this.storeError('delete', error, derived.key);
      return false;
    }
  }

  // ---------------------------------------------------------------- lifecycle and observability

  stats(): CacheStats {
    return this.counters.snapshot();
  }

  on<K extends keyof CacheEvents>(event: K, listener: Listener<CacheEvents[K]>): () => void {
    return this.emitter.on(event, listener);
  }

  once<K extends keyof CacheEvents>(event: K, listener: Listener<CacheEvents[K]>): () => void {
    return this.emitter.once(event, listener);
  }

  off<K extends keyof CacheEvents>(event: K, listener: Listener<CacheEvents[K]>): void {
    this.emitter.off(event, listener);
  }

  /** Waits for every write started so far (each is bounded by timeoutMs). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
    }
  }

  /** Flushes pending writes and closes the store's connection. Later calls bypass the cache. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    try {
      await withTimeout(this.store.close(), Math.max(this.timeoutMs, 1000), () => this.timeoutMessage('close'));
    } catch (error) {
      this.reportError('close', toLlmemoError(error, 'STORE_UNAVAILABLE', 'Closing the store failed'));
    }
  }

  // ---------------------------------------------------------------- reporting

  private timeoutMessage(operation: string): string {
    return `The ${this.store.type} store did not complete a ${operation} within ${this.timeoutMs} ms, so the cache was bypassed. Check the store's health, or raise timeoutMs.`;
  }

  private storeError(operation: ErrorEvent['operation'], error: unknown, key?: string): void {
    const wrapped = toLlmemoError(
      error,
      'STORE_UNAVAILABLE',
      `The ${this.store.type} store failed a ${operation}, so the cache was bypassed (check that the store is reachable)`,
    );
    this.reportError(operation, wrapped, key);
  }

  private reportError(operation: ErrorEvent['operation'], error: LlmemoError, key?: string): void {
    this.counters.errors++;
    this.logger?.warn?.(`llmemo: ${error.message}`, { code: error.code, operation, key });
    const event: ErrorEvent = { error, operation };
    if (key !== undefined) event.key = key;
    this.emitter.emit('error', event);
  }

  private skip(code: CacheEvents['skip']['code'], reason: string, key?: string): void {
    this.counters.skips++;
    this.logger?.debug?.(`llmemo: not cached: ${reason}`, { code, key });
    const event: CacheEvents['skip'] = { code, reason };
    if (key !== undefined) event.key = key;
    this.emitter.emit('skip', event);
  }
}

/** Creates a response cache. Invalid options throw `LlmemoError` with code INVALID_OPTIONS right here. */
export function createCache(options: CacheOptions = {}): ResponseCache {
  return new ResponseCache(options);
}
