import { CircuitBreaker } from './breaker.js';
import type {
  CacheEntry,
  CacheOptions,
  CacheResult,
  ComputeOptions,
  InspectedEntry,
  Logger,
  Lookup,
  LookupOptions,
  StoredStats,
} from './cache-types.js';
import { decode, encode } from './codec.js';
import { resolveCompression } from './compression.js';
import { awaitOtherProcess, type CrossProcess, resolveCrossProcess } from './cross-process.js';
import { type Duration, parseDuration } from './duration.js';
import { resolveEncryption } from './encryption.js';
import { EntryCodec, readEntryMeta, UnreadableEntry } from './entry-codec.js';
import { computeDuration, ENVELOPE_VERSION, type EntryMeta, type EntryMetadata, type Envelope } from './envelope.js';
import { describeError, isLlmemoError, LlmemoError } from './errors.js';
import { type CacheEvents, type ErrorEvent, type Listener, type MissEvent, TypedEmitter } from './events.js';
import { type EntryFilter, resolveFilter } from './filter.js';
import {
  DEFAULT_EXCLUDED_PARAMS,
  DEFAULT_HEADER_ALLOWLIST,
  type DerivedKey,
  deriveKey,
  type KeyDerivation,
  parseKey,
} from './key.js';
import {
  type EntryInfo,
  type ExportRecord,
  exportRecords,
  type ImportResult,
  importRecords,
  listEntries,
  purgeEntries,
  storeFailure,
  toEntryInfo,
} from './maintenance.js';
import { type CacheMetrics, type MetricLabels, type RequestResult, resolveMetrics } from './metrics.js';
import {
  type CallOptions,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL_MS,
  type ResolvedCallOptions,
  resolveCallOptions,
  resolveMode,
  resolveNamespace,
  resolveNormalization,
  resolvePositiveInteger,
  resolveTtl,
} from './options.js';
import type { CacheRequest } from './request.js';
import { resolveRange } from './series.js';
import {
  type CacheStats,
  CounterBuffer,
  type PriceTable,
  resolvePrices,
  StatsCounter,
  totalCounters,
} from './stats.js';
import { readRangeStats, STORE_WIDE, type StoredStatsFilter, timedMetadata, withComputeTime } from './stored-stats.js';
import type { MemoryStoreOptions } from './stores/memory.js';
import { RedisStore } from './stores/redis.js';
import { resolveStore } from './stores/resolve.js';
import type { SqliteStoreOptions } from './stores/sqlite.js';
import { type CacheStore, CorruptStoredValue, type CounterField } from './stores/store.js';
import { withTimeout } from './timeout.js';
import { isTransientError } from './transient.js';

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
  'compression',
  'encryption',
  'metrics',
  'prices',
  'persistStats',
  'pruneInterval',
  'logger',
  'key',
  'excludeParams',
  'includeHeaders',
  'sqlite',
  'redis',
  'staleWhileRevalidate',
  'staleIfError',
  'isTransientError',
  'breaker',
  'crossProcessCoalescing',
]);

interface Flight<T> {
  waiting: number;
  promise: Promise<{ value: T; bodyJson?: string; age?: number }>;
}

type ReadOutcome<T> =
  | { entry: Envelope<T>; reason?: undefined; stale?: undefined }
  | { entry?: undefined; reason: MissEvent['reason']; stale?: Envelope<T> };

type Begun<T> =
  | { type: 'hit'; result: CacheResult<T>; revalidate?: { derived: DerivedKey; call: ResolvedCallOptions } }
  | { type: 'bypass' }
  | { type: 'miss'; derived: DerivedKey; call: ResolvedCallOptions; stale?: Envelope<T> };

/** An entry ready to store: its metadata, and its body already encoded by the value codec. */
interface PreparedEntry {
  meta: EntryMeta;
  bodyJson: string;
}

const DEFAULT_STATS_INTERVAL_MS = 10_000;
const DEFAULT_PRUNE_INTERVAL_MS = 3_600_000;

/** After this long a background refresh is presumed stuck, and another may start. */
const REFRESH_STUCK_MS = 60_000;

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
  private readonly counters: StatsCounter;
  private readonly inflight = new Map<string, Flight<unknown>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly logger: Logger | undefined;
  private readonly codec: EntryCodec;
  private readonly metrics: CacheMetrics | undefined;
  private readonly prices: PriceTable | undefined;
  private readonly shared: CounterBuffer | undefined;
  private readonly statsIntervalMs: number;
  private statsTimer: ReturnType<typeof setTimeout> | undefined;
  private statsFlush: Promise<void> | undefined;
  private readonly pruneTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private storeClosed = false;
  /** Keys with a stale-while-revalidate refresh running, and since when (a lookup refresh has no inflight entry). */
  private readonly refreshing = new Map<string, number>();
  private readonly refreshes = new Set<Promise<void>>();
  private readonly transient: (error: unknown) => boolean;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly crossProcess: CrossProcess | undefined;

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
      staleWhileRevalidate:
        options.staleWhileRevalidate === undefined
          ? 0
          : parseDuration(options.staleWhileRevalidate, 'staleWhileRevalidate'),
      staleIfError: options.staleIfError === undefined ? 0 : parseDuration(options.staleIfError, 'staleIfError'),
    });
    if (options.isTransientError !== undefined && typeof options.isTransientError !== 'function') {
      throw new LlmemoError('INVALID_OPTIONS', 'isTransientError must be a function (error) => boolean.');
    }
    this.transient = options.isTransientError ?? isTransientError;
    this.breaker = this.resolveBreaker(options.breaker);
    this.crossProcess = resolveCrossProcess(options.crossProcessCoalescing);
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
    this.codec = new EntryCodec(resolveEncryption(options.encryption), resolveCompression(options.compression));
    this.metrics = resolveMetrics(options.metrics);
    this.prices = resolvePrices(options.prices);
    this.counters = new StatsCounter(this.prices);
    const persist = options.persistStats ?? true;
    if (persist !== true && persist !== false && typeof persist !== 'string' && typeof persist !== 'number') {
      throw new LlmemoError('INVALID_OPTIONS', "persistStats must be true, false or an interval such as '30s'.");
    }
    this.statsIntervalMs =
      typeof persist === 'boolean' ? DEFAULT_STATS_INTERVAL_MS : parseDuration(persist, 'persistStats');
    const pruneOption = options.pruneInterval;
    const pruneMs =
      pruneOption === undefined || pruneOption === false ? undefined : parseDuration(pruneOption, 'pruneInterval');
    const onEvict = (count: number) => {
      this.counters.evictions += count;
      this.countShared(STORE_WIDE, '', 'evictions', count);
      this.metrics?.evicted(count, this.store.type);
      this.emitter.emit('evict', { count, store: this.store.type });
    };
    const memory: MemoryStoreOptions = { onEvict: () => onEvict(1) };
    const sqlite: SqliteStoreOptions = { ...options.sqlite, onEvict };
    const bounded = options.maxEntries !== undefined || options.maxBytes !== undefined;
    if (options.maxEntries !== undefined) {
      memory.maxEntries = sqlite.maxEntries = resolvePositiveInteger(options.maxEntries, 'maxEntries');
    }
    if (options.maxBytes !== undefined) {
      memory.maxBytes = sqlite.maxBytes = resolvePositiveInteger(options.maxBytes, 'maxBytes');
    }
    this.emitter = new TypedEmitter<CacheEvents>((error) =>
      this.logger?.error?.(`llmemo: an event listener threw: ${describeError(error)}`),
    );
    this.store = resolveStore(options.store, { memory, sqlite, redis: options.redis });
    if (bounded && this.store.type !== 'memory' && this.store.type !== 'sqlite') {
      this.store.close().catch(() => {});
      throw new LlmemoError(
        'INVALID_OPTIONS',
        this.store.type === 'redis'
          ? "maxEntries/maxBytes bound memory:// and sqlite:// stores. Redis evicts by itself: set maxmemory and maxmemory-policy 'allkeys-lru' (or 'volatile-lru') on the server."
          : `maxEntries/maxBytes bound memory:// and sqlite:// stores, not a ${this.store.type} store; bound it in the backend.`,
      );
    }
    if (this.crossProcess && !(this.store instanceof RedisStore)) {
      this.store.close().catch(() => {});
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `crossProcessCoalescing needs a redis:// store (it locks in Redis); this cache uses a ${this.store.type} store.`,
      );
    }
    this.shared = persist === false ? undefined : new CounterBuffer();
    if (this.store.type === 'keyv') {
      // A Keyv the app built may swallow store errors (it returns undefined); its error events are all we get.
      this.store.keyv.on('error', (error: unknown) =>
        this.reportError('store', toLlmemoError(error, 'STORE_UNAVAILABLE', 'The store reported an error')),
      );
    }
    const pruneEvery =
      pruneMs ??
      (pruneOption === undefined && (this.store.type === 'sqlite' || this.store.type === 'memory')
        ? DEFAULT_PRUNE_INTERVAL_MS
        : undefined);
    if (pruneEvery !== undefined && pruneEvery > 0) {
      // Through a WeakRef: a cache the app dropped without close() can still be collected (and its timer ends).
      const self = new WeakRef(this);
      const timer = setInterval(() => {
        const cache = self.deref();
        if (!cache) {
          clearInterval(timer);
          return;
        }
        cache
          .prune()
          .catch((error: unknown) =>
            cache.reportError('prune', toLlmemoError(error, 'STORE_UNAVAILABLE', 'The scheduled prune failed')),
          );
      }, pruneEvery);
      timer.unref?.();
      this.pruneTimer = timer;
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
    if (started.type === 'hit') {
      if (started.revalidate) {
        const { derived, call } = started.revalidate;
        this.revalidate(derived, () =>
          this.computeOnce(derived, request, compute, call, options.cacheable, options.metadata),
        );
      }
      return started.result;
    }
    if (started.type === 'bypass') {
      return { value: await compute(), hit: false, stale: false, age: 0, coalesced: false };
    }
    try {
      return await this.computeOnce(
        started.derived,
        request,
        compute,
        started.call,
        options.cacheable,
        options.metadata,
      );
    } catch (error) {
      const stale = this.staleFallback(started, request, error);
      if (stale) return stale;
      throw error;
    }
  }

  /**
   * The two-phase form of getOrCompute, for values that arrive over time (streams): look up now, and on a miss
   * `commit` the value once it is complete (never commit a failed or cancelled one). Honors modes like
   * getOrCompute: 'replay' throws CACHE_MISS on a miss, 'read-only' and noStore make commit a no-op. A miss also
   * offers `fallback(error)` for stale-if-error; `revalidate` enables stale-while-revalidate.
   */
  async lookup<T>(request: CacheRequest, options: LookupOptions<T> = {}): Promise<Lookup<T>> {
    const started = await this.begin<T>(request, options, options.revalidate !== undefined);
    if (started.type === 'hit') {
      if (started.revalidate && options.revalidate) {
        const { derived, call } = started.revalidate;
        const refresh = options.revalidate;
        this.revalidate(derived, async () => {
          const fresh = await refresh();
          if (fresh === undefined) return;
          const prepared = this.encodeEntry(derived, request, fresh.value, call, fresh.metadata);
          if (prepared) await this.write(derived, prepared, call.ttl);
        });
      }
      const { value, age, stale, key } = started.result;
      return { hit: true, value, age, stale, key: key! };
    }
    if (started.type === 'bypass') return { hit: false, commit: async () => false, fallback: () => undefined };
    const { derived, call } = started;
    const lookedUpAt = performance.now();
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
        const metadata = timedMetadata(commitOptions.metadata, performance.now() - lookedUpAt);
        const prepared = this.encodeEntry(derived, request, value, call, metadata);
        if (prepared === undefined) return false;
        const writesBefore = this.counters.writes;
        await this.write(derived, prepared, call.ttl);
        return this.counters.writes > writesBefore;
      },
      fallback: (error: unknown) => {
        const stale = this.staleFallback(started, request, error);
        return stale ? { value: stale.value, age: stale.age } : undefined;
      },
    };
  }

  /**
   * Resolves options and the key, and reads: a hit (maybe stale, maybe to revalidate), a miss to compute (miss
   * event sent; with the expired entry when stale-if-error may serve it), or a bypass.
   */
  private async begin<T>(request: CacheRequest, options: CallOptions, canRevalidate = true): Promise<Begun<T>> {
    const call =
      options.mode === undefined &&
      options.ttl === undefined &&
      options.namespace === undefined &&
      options.noStore === undefined &&
      options.staleWhileRevalidate === undefined &&
      options.staleIfError === undefined
        ? this.defaults
        : resolveCallOptions(
            {
              mode: options.mode,
              ttl: options.ttl,
              namespace: options.namespace,
              noStore: options.noStore,
              staleWhileRevalidate: options.staleWhileRevalidate,
              staleIfError: options.staleIfError,
            },
            this.defaults,
          );

    if (call.mode === 'off' || this.closed) {
      this.counters.bypasses++;
      this.countShared(call.namespace, String(request.model), 'bypasses', 1);
      this.measure('bypass', request, call.namespace);
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
      this.countShared(call.namespace, String(request.model), 'bypasses', 1);
      this.measure('bypass', request, call.namespace);
      this.skip('UNSERIALIZABLE_REQUEST', derived.message);
      return { type: 'bypass' };
    }

    let reason: MissEvent['reason'] = 'refresh';
    let stale: Envelope<T> | undefined;
    if (call.mode !== 'refresh') {
      const found = await this.read<T>(derived, request);
      if (found.entry) return { type: 'hit', result: this.served(found.entry, derived, request, false) };
      reason = found.reason;
      stale = found.stale;
      if (stale) {
        const expiredFor = Date.now() - (stale.expiresAt ?? 0);
        // Replay never calls the provider: an expired entry still within its window beats a CACHE_MISS.
        if (call.mode === 'replay') return { type: 'hit', result: this.served(stale, derived, request, true) };
        if (canRevalidate && expiredFor < call.staleWhileRevalidate) {
          return {
            type: 'hit',
            result: this.served(stale, derived, request, true),
            revalidate: { derived, call },
          };
        }
        if (expiredFor >= call.staleIfError) stale = undefined;
      }
    }
    if (call.mode === 'replay') {
      throw new LlmemoError(
        'CACHE_MISS',
        `No cached ${request.kind} entry for this request and mode 'replay' never calls the provider. Record it with mode 'read-write' first, or check the request is identical (key …${derived.digest.slice(0, 12)}).`,
      );
    }
    this.missed(derived, request, reason);
    this.emitter.emit('miss', {
      key: derived.key,
      kind: request.kind,
      provider: request.provider,
      model: request.model,
      namespace: derived.namespace,
      reason,
    });
    return stale ? { type: 'miss', derived, call, stale } : { type: 'miss', derived, call };
  }

  /** Runs one background refresh per key (stale-while-revalidate); flush() waits for it. */
  private revalidate(derived: DerivedKey, refresh: () => Promise<unknown>): void {
    const running = this.refreshing.get(derived.key);
    // A refresh that has hung for a minute no longer blocks the next one.
    if (this.inflight.has(derived.key) || (running !== undefined && Date.now() - running < REFRESH_STUCK_MS)) return;
    this.refreshing.set(derived.key, Date.now());
    const operation = (async () => {
      try {
        await refresh();
      } catch (error) {
        this.reportError(
          'revalidate',
          toLlmemoError(error, 'PROVIDER_FAILED', 'The background refresh of a stale entry failed; it stays stale'),
          derived.key,
        );
      } finally {
        this.refreshing.delete(derived.key);
      }
    })();
    // Tracked apart from writes: it waits on the provider, which has no bound of ours, so close() must not.
    this.refreshes.add(operation);
    operation.finally(() => this.refreshes.delete(operation));
  }

  /** The stale answer for a failed provider call, when stale-if-error covers it (counted and reported). */
  private staleFallback<T>(started: Begun<T>, request: CacheRequest, error: unknown): CacheResult<T> | undefined {
    if (started.type !== 'miss' || !started.stale || !this.transient(error)) return undefined;
    const { derived, stale } = started;
    this.reportError(
      'compute',
      toLlmemoError(error, 'PROVIDER_FAILED', 'The provider call failed; a stale entry was served instead'),
      derived.key,
    );
    return this.served(stale, derived, request, true);
  }

  private missed(derived: DerivedKey, request: CacheRequest, reason: MissEvent['reason']): void {
    this.counters.miss(String(request.model));
    this.shared?.add(derived.namespace, String(request.model), 'misses', 1);
    this.scheduleStats();
    this.measure(reason === 'error' ? 'error' : 'miss', request, derived.namespace);
  }

  private labels(request: CacheRequest, namespace: string): MetricLabels {
    return {
      kind: String(request.kind),
      provider: String(request.provider),
      model: String(request.model),
      namespace,
    };
  }

  private measure(result: RequestResult, request: CacheRequest, namespace: string): void {
    if (this.metrics?.active) this.metrics.request(result, this.labels(request, namespace));
  }

  private served<T>(entry: Envelope<T>, derived: DerivedKey, request: CacheRequest, stale: boolean): CacheResult<T> {
    const age = Math.max(0, Date.now() - entry.createdAt);
    if (stale) this.counters.staleHits++;
    const input = entry.usage?.inputTokens ?? 0;
    const output = entry.usage?.outputTokens ?? 0;
    const model = String(request.model);
    const computeMs = computeDuration(entry.computeMs) ?? 0;
    this.counters.hit(model, input, output, computeMs);
    if (this.shared) {
      this.shared.add(derived.namespace, model, 'hits', 1);
      if (stale) this.shared.add(derived.namespace, model, 'staleHits', 1);
      this.shared.add(derived.namespace, model, 'inputTokensSaved', input);
      this.shared.add(derived.namespace, model, 'outputTokensSaved', output);
      this.shared.add(derived.namespace, model, 'timeSavedMs', computeMs);
      this.scheduleStats();
    }
    if (this.metrics?.active) {
      const labels = this.labels(request, derived.namespace);
      this.metrics.request(stale ? 'stale' : 'hit', labels);
      this.metrics.tokensSaved(input, output, labels);
    }
    if (this.emitter.hasListeners('hit')) {
      this.emitter.emit('hit', {
        key: derived.key,
        kind: request.kind,
        provider: request.provider,
        model: request.model,
        namespace: derived.namespace,
        age,
        stale,
      });
    }
    return { value: entry.body, hit: true, stale, age, key: derived.key, coalesced: false };
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
      if (shared.bodyJson !== undefined) {
        try {
          value = decode<T>(shared.bodyJson);
        } catch {
          // Unreachable for text we just encoded; fall back to the shared reference.
        }
      }
      // A flight answered from the store (by another process, see crossProcessCoalescing) is a hit for all.
      const fromStore = shared.age !== undefined;
      return { value, hit: fromStore, stale: false, age: shared.age ?? 0, key: derived.key, coalesced: true };
    }

    let settleWrite: () => void = () => {};
    const writeSettled = new Promise<void>((resolve) => {
      settleWrite = resolve;
    });
    const flight: Flight<T> = {
      waiting: 1,
      promise: (async () => {
        const lock = this.crossProcess ? await this.awaitOtherProcess<T>(derived) : undefined;
        if (lock?.entry) {
          settleWrite();
          const { entry } = lock;
          // Re-encoded so each waiting caller decodes its own copy, as with a local flight.
          return { value: entry.body, bodyJson: encode(entry.body), age: Math.max(0, Date.now() - entry.createdAt) };
        }
        try {
          const started = performance.now();
          const value = await compute();
          const timed = withComputeTime(metadata, performance.now() - started);
          const bodyJson = this.store_(derived, request, value, call, cacheable, timed, settleWrite);
          return { value, bodyJson };
        } finally {
          if (lock?.release) writeSettled.then(lock.release, lock.release);
        }
      })(),
    };
    this.inflight.set(derived.key, flight as Flight<unknown>);
    // Late arrivals keep joining the flight until its write lands, so they cannot miss in the gap and recompute.
    const release = () => {
      if (this.inflight.get(derived.key) === flight) this.inflight.delete(derived.key);
    };
    flight.promise.then(() => writeSettled.then(release), release);
    const { value, age } = await flight.promise;
    // `age` is set when another process answered: the value came from the store, so it is a hit.
    if (age !== undefined) return { value, hit: true, stale: false, age, key: derived.key, coalesced: true };
    return { value, hit: false, stale: false, age: 0, key: derived.key, coalesced: false };
  }

  /** See `cross-process.ts`: take the key's lock, or wait for the holder's entry; undefined means compute. */
  private awaitOtherProcess<T>(
    derived: DerivedKey,
  ): Promise<{ entry?: Envelope<T>; release?: () => void } | undefined> {
    return awaitOtherProcess<T>(this.store as RedisStore, derived.key, this.crossProcess!, {
      timeoutMs: this.timeoutMs,
      timeoutMessage: () => this.timeoutMessage('lock'),
      read: async () => (await this.readEntry<T>(derived)).entry,
    });
  }

  /** Encodes and schedules the write; returns the encoded body (followers decode their copies from it). */
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
    const prepared = this.encodeEntry(derived, request, value, call, meta);
    if (prepared === undefined) {
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
      return prepared.bodyJson;
    }
    this.write(derived, prepared, call.ttl).finally(done);
    return prepared.bodyJson;
  }

  private encodeEntry<T>(
    derived: DerivedKey,
    request: CacheRequest,
    value: T,
    call: Pick<ResolvedCallOptions, 'ttl' | 'staleWhileRevalidate' | 'staleIfError'>,
    metadata: EntryMetadata | undefined,
  ): PreparedEntry | undefined {
    const now = Date.now();
    const ttl = call.ttl;
    const meta: EntryMeta = {
      v: ENVELOPE_VERSION,
      kind: request.kind,
      ns: derived.namespace,
      provider: request.provider,
      model: request.model,
      digest: derived.digest,
      createdAt: now,
      expiresAt: ttl === null ? null : now + ttl,
    };
    // Kept past expiry for as long as a stale answer may still be served (the store's own TTL follows this).
    const keep = Math.max(call.staleWhileRevalidate, call.staleIfError);
    if (ttl !== null && keep > 0) meta.staleUntil = now + ttl + keep;
    if (request.specVersion !== undefined) meta.specVersion = request.specVersion;
    if (metadata?.responseModel !== undefined) meta.responseModel = metadata.responseModel;
    if (metadata?.usage !== undefined) meta.usage = metadata.usage;
    const computeMs = computeDuration(metadata?.computeMs);
    if (computeMs !== undefined) meta.computeMs = computeMs;
    try {
      return { meta, bodyJson: encode(value) };
    } catch (error) {
      this.skip('UNSERIALIZABLE_VALUE', `The value cannot be stored: ${describeError(error)}`, derived.key);
      return undefined;
    }
  }

  private write(derived: DerivedKey, prepared: PreparedEntry, ttl: number | null): Promise<void> {
    const operation = (async () => {
      let text: string;
      try {
        text = await this.codec.serialize(prepared.meta, prepared.bodyJson, derived.key);
      } catch (error) {
        this.reportError(
          'encode',
          toLlmemoError(error, 'UNSERIALIZABLE_VALUE', 'The entry could not be sealed'),
          derived.key,
        );
        return;
      }
      const bytes = Buffer.byteLength(text);
      if (bytes > this.maxEntryBytes) {
        this.skip(
          'ENTRY_TOO_LARGE',
          `The entry is ${bytes} bytes, over maxEntryBytes (${this.maxEntryBytes}); it was not stored. Raise maxEntryBytes to cache values this large.`,
          derived.key,
        );
        return;
      }
      // A refresh that outlived close() has nowhere to write.
      if (this.storeClosed) return;
      if (!this.storeAllowed()) {
        this.skip('STORE_UNAVAILABLE', 'The circuit breaker is open: the store is being skipped.', derived.key);
        return;
      }
      const storeTtl =
        prepared.meta.staleUntil != null ? Math.max(1, prepared.meta.staleUntil - Date.now()) : (ttl ?? undefined);
      try {
        await withTimeout(this.store.set(derived.key, text, storeTtl), this.timeoutMs, () =>
          this.timeoutMessage('set'),
        );
        this.breaker?.success();
      } catch (error) {
        this.storeError('set', error, derived.key);
        return;
      }
      this.counters.writes++;
      this.counters.bytesWritten += bytes;
      const model = String(prepared.meta.model);
      if (this.shared) {
        this.shared.add(derived.namespace, model, 'writes', 1);
        this.shared.add(derived.namespace, model, 'bytesWritten', bytes);
        this.scheduleStats();
      }
      if (this.metrics?.active)
        this.metrics.written(bytes, {
          kind: String(prepared.meta.kind),
          provider: String(prepared.meta.provider),
          model,
          namespace: derived.namespace,
        });
      this.emitter.emit('write', { key: derived.key, namespace: derived.namespace, bytes, ttl });
    })();
    this.track(operation);
    return operation;
  }

  private track(operation: Promise<void>): void {
    this.pending.add(operation);
    operation.finally(() => this.pending.delete(operation));
  }

  private async read<T>(derived: DerivedKey, request: CacheRequest): Promise<ReadOutcome<T>> {
    const metrics = this.metrics?.active ? this.metrics : undefined;
    const started = metrics ? performance.now() : 0;
    const outcome = await this.readEntry<T>(derived);
    if (metrics) {
      metrics.lookup((performance.now() - started) / 1000, this.labels(request, derived.namespace));
    }
    return outcome;
  }

  private async readEntry<T>(derived: DerivedKey): Promise<ReadOutcome<T>> {
    if (!this.storeAllowed()) return { reason: 'circuit-open' };
    let text: string | undefined;
    try {
      // The in-process LRU answers synchronously and cannot hang, so it skips the timer (the hit path's hottest case).
      text = await (this.store.type === 'memory'
        ? this.store.get(derived.key)
        : withTimeout(this.store.get(derived.key), this.timeoutMs, () => this.timeoutMessage('get')));
      this.breaker?.success();
    } catch (error) {
      if (error instanceof CorruptStoredValue) {
        this.breaker?.success();
        this.reportError(
          'decode',
          new LlmemoError(
            'CORRUPT_ENTRY',
            `The stored value is not an llmemo entry (${error.message}); it was deleted and treated as a miss.`,
          ),
          derived.key,
        );
        this.deleteQuietly(derived.key);
        return { reason: 'error' };
      }
      this.storeError('get', error, derived.key);
      return { reason: 'error' };
    }
    if (text === undefined) return { reason: 'absent' };
    let entry: Envelope<T>;
    try {
      const opened = this.codec.deserialize<T>(text, derived, derived.key);
      entry = opened.entry;
      if (opened.rotated) this.rewrite(derived, entry, opened.bodyJson!);
    } catch (error) {
      const failure = toLlmemoError(
        error,
        'CORRUPT_ENTRY',
        'The stored entry could not be decoded; it was deleted and treated as a miss',
      );
      const decrypting = failure.code === 'DECRYPT_FAILED';
      this.reportError(decrypting ? 'decrypt' : 'decode', failure, derived.key);
      // An entry under a key we do not hold is left alone (another deployment may hold it: a rotation in
      // progress); anything corrupt or tampered with is deleted.
      if (!(error instanceof UnreadableEntry) || error.discard) this.deleteQuietly(derived.key);
      return { reason: 'error' };
    }
    if (entry.expiresAt !== null) {
      const now = Date.now();
      if (now >= entry.expiresAt) {
        return entry.staleUntil != null && now < entry.staleUntil
          ? { reason: 'expired', stale: entry }
          : { reason: 'expired' };
      }
    }
    return { entry };
  }

  /** Re-writes an entry read with a previous encryption key under the current one, keeping its expiry. */
  private rewrite<T>(derived: DerivedKey, entry: Envelope<T>, bodyJson: string): void {
    const { body: _body, ...meta } = entry;
    const ttl = entry.expiresAt === null ? null : entry.expiresAt - Date.now();
    if (ttl !== null && ttl <= 0) return;
    this.write(derived, { meta, bodyJson }, ttl).catch(() => {});
  }

  private deleteQuietly(key: string): void {
    const operation = withTimeout(this.store.delete(key), this.timeoutMs, () => this.timeoutMessage('delete')).then(
      () => {},
      (error: unknown) => this.storeError('delete', error, key),
    );
    this.track(operation);
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
    const found = await this.read<T>(derived, request);
    if (!found.entry) {
      this.missed(derived, request, found.reason);
      return undefined;
    }
    const { value, age } = this.served(found.entry, derived, request, false);
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
    const prepared = this.encodeEntry(derived, request, value, call, metadata);
    if (prepared === undefined || call.ttl === 0) return false;
    const writesBefore = this.counters.writes;
    await this.write(derived, prepared, call.ttl);
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

  // ---------------------------------------------------------------- maintenance (these throw: they are explicit)

  /**
   * Deletes the entries the filter selects and resolves how many. The scope is `namespace` (default: this cache's)
   * or `all: true`; `kind`, `provider`, `model`, `olderThan` and `responseModel` narrow it. Label filters are exact
   * key-prefix deletes in the store; nothing else can match. A purge of a whole namespace also deletes its stored
   * counters. Throws `LlmemoError` (STORE_UNAVAILABLE) when the store fails: an erasure never fails silently.
   */
  async purge(filter: EntryFilter): Promise<number> {
    const resolved = resolveFilter(filter, this.namespace, { destructive: true });
    await this.flush();
    if (resolved.wholeScope) this.shared?.drop(resolved.namespace);
    return purgeEntries(this.store, resolved);
  }

  /**
   * Deletes expired entries (SQLite keeps them otherwise; Redis expires keys itself) and, on a bounded SQLite
   * store, evicts down to maxEntries/maxBytes. Resolves how many expired entries were deleted.
   */
  async prune(): Promise<number> {
    try {
      await this.store.ready();
      return await this.store.prune();
    } catch (error) {
      throw storeFailure(this.store, error, 'prune');
    }
  }

  /** The entries the filter selects, with metadata only (no body, so no key is needed). */
  entries(filter: EntryFilter = {}, options: { includeExpired?: boolean } = {}): AsyncIterable<EntryInfo> {
    return listEntries(this.store, resolveFilter(filter, this.namespace, { destructive: false }), options);
  }

  /** One stored entry by its key: metadata, and the value when it can be opened. Undefined when absent. */
  async inspect(key: string): Promise<InspectedEntry | undefined> {
    let found: { key: string; value: string } | undefined;
    try {
      await this.store.ready();
      // A peek, not a get: a get through Keyv deletes an expired entry, and inspecting must not change the store.
      found = await this.store.peek(key);
    } catch (error) {
      throw storeFailure(this.store, error, 'read the entry');
    }
    if (!found) return undefined;
    const meta = readEntryMeta(key, found.value);
    const result: InspectedEntry = { info: toEntryInfo(meta) };
    try {
      result.value =
        meta.enc === undefined
          ? decode(JSON.stringify(meta.rawBody))
          : decode(this.codec.open(meta.enc, meta.rawBody as string, key).body);
    } catch (error) {
      result.error = toLlmemoError(error, 'CORRUPT_ENTRY', 'The entry body could not be decoded');
    }
    return result;
  }

  /** The stored records the filter selects, as they are (encrypted bodies stay encrypted), for `importEntries`. */
  exportEntries(filter: EntryFilter = {}): AsyncIterable<ExportRecord> {
    return exportRecords(this.store, resolveFilter(filter, this.namespace, { destructive: false }));
  }

  /** Writes exported records under their keys with their remaining time to live (expired ones are skipped). */
  importEntries(
    records: AsyncIterable<ExportRecord> | Iterable<ExportRecord>,
    options: { onRecord?: (result: 'imported' | 'expired' | 'invalid') => void } = {},
  ): Promise<ImportResult> {
    return importRecords(this.store, records, options.onRecord);
  }

  /**
   * Counters every process using this store recorded (with `persistStats`): hits, misses, writes, tokens saved,
   * per namespace and model, plus totals (money saved with `prices`). Includes this process's unsent counts.
   */
  async storedStats(filter: StoredStatsFilter = {}): Promise<StoredStats> {
    const namespace = filter.all ? undefined : (filter.namespace ?? this.namespace);
    const range = filter.range === undefined ? undefined : resolveRange(filter.range);
    await this.flushStats();
    try {
      if (range === undefined) {
        const rows = await this.store.readCounters(namespace);
        return { rows, totals: totalCounters(rows, this.prices) };
      }
      return await readRangeStats(this.store, range, namespace, this.prices);
    } catch (error) {
      throw storeFailure(this.store, error, 'read its counters');
    }
  }

  /** The price table of the `prices` option (undefined without one). */
  get priceTable(): PriceTable | undefined {
    return this.prices;
  }

  /** Waits for pending writes, then sends this process's counter deltas to the store now (close does this too). */
  async flushStats(): Promise<void> {
    await this.flushWrites();
    clearTimeout(this.statsTimer);
    this.statsTimer = undefined;
    while (this.statsFlush) await this.statsFlush;
    if (!this.shared || this.shared.empty) return;
    const rows = this.shared.take();
    this.statsFlush = (async () => {
      try {
        // Bounded like any store operation: close() on a dead store must not wait for counters.
        await withTimeout(this.store.addCounters(rows), this.timeoutMs, () => this.timeoutMessage('counter update'));
      } catch (error) {
        // Not worth an error event on every flush of an outage. A rejected update is retried with the next flush;
        // a timed-out one may still land, so it is dropped rather than risk counting it twice.
        if (!isLlmemoError(error, 'STORE_TIMEOUT')) this.shared?.restore(rows);
        this.logger?.warn?.(`llmemo: could not save counters to the store: ${describeError(error)}`);
      }
    })();
    try {
      await this.statsFlush;
    } finally {
      this.statsFlush = undefined;
    }
  }

  /** Adds to the counters every process shares (a no-op with persistStats: false). */
  private countShared(namespace: string, model: string, field: CounterField, amount: number): void {
    if (!this.shared) return;
    this.shared.add(namespace, model, field, amount);
    this.scheduleStats();
  }

  private scheduleStats(): void {
    if (!this.shared || this.statsTimer !== undefined || this.closed) return;
    this.statsTimer = setTimeout(() => {
      this.statsTimer = undefined;
      this.flushStats().catch(() => {});
    }, this.statsIntervalMs);
    this.statsTimer.unref?.();
  }

  // ---------------------------------------------------------------- lifecycle and observability

  stats(): CacheStats {
    const stats = this.counters.snapshot();
    stats.breaker = this.breaker
      ? { state: this.breaker.state, opens: this.breaker.opens }
      : { state: 'closed', opens: 0 };
    return stats;
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

  /** Waits for every write started so far (each bounded by timeoutMs) and for background stale refreshes. */
  async flush(): Promise<void> {
    while (this.pending.size > 0 || this.refreshes.size > 0) {
      await Promise.allSettled([...this.pending, ...this.refreshes]);
    }
  }

  /** Waits for pending store operations only (each bounded by timeoutMs), not for background refreshes. */
  private async flushWrites(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Flushes pending writes and counters, stops timers and closes the store's connection. Later calls bypass. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pruneTimer);
    // Background refreshes wait on the provider, which may hang: give them a grace period, not a veto.
    const grace = Math.max(this.timeoutMs, 200);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.refreshes]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, grace);
      }),
    ]);
    clearTimeout(timer);
    await this.flushStats();
    this.storeClosed = true;
    try {
      await withTimeout(this.store.close(), grace, () => this.timeoutMessage('close'));
    } catch (error) {
      this.reportError('close', toLlmemoError(error, 'STORE_UNAVAILABLE', 'Closing the store failed'));
    }
  }

  // ---------------------------------------------------------------- reporting

  private timeoutMessage(operation: string): string {
    return `The ${this.store.type} store did not complete a ${operation} within ${this.timeoutMs} ms, so the cache was bypassed. Check the store's health, or raise timeoutMs.`;
  }

  /** Whether the breaker lets a store operation through now (always, without a breaker). */
  private storeAllowed(): boolean {
    return this.breaker === undefined || this.breaker.allow();
  }

  private resolveBreaker(option: CacheOptions['breaker']): CircuitBreaker | undefined {
    if (option === false) return undefined;
    if (option !== undefined && (option === null || typeof option !== 'object')) {
      throw new LlmemoError('INVALID_OPTIONS', "breaker must be false or { threshold?: number, cooldown?: '5s' }.");
    }
    const threshold = resolvePositiveInteger(option?.threshold ?? 5, 'breaker.threshold');
    const cooldownMs = option?.cooldown === undefined ? 5000 : parseDuration(option.cooldown, 'breaker.cooldown');
    return new CircuitBreaker({
      threshold,
      cooldownMs,
      onChange: (state, previous) => {
        if (state === 'open') {
          this.logger?.warn?.(
            `llmemo: the ${this.store.type} store failed ${threshold} times in a row; skipping it for ${cooldownMs} ms (calls go to the provider).`,
          );
        } else if (state === 'closed') {
          this.logger?.info?.(`llmemo: the ${this.store.type} store answers again; the cache is back on.`);
        }
        this.emitter.emit('breaker', { state, previous, store: this.store.type });
      },
    });
  }

  private storeError(operation: ErrorEvent['operation'], error: unknown, key?: string): void {
    this.breaker?.failure();
    const wrapped = toLlmemoError(
      error,
      'STORE_UNAVAILABLE',
      `The ${this.store.type} store failed a ${operation}, so the cache was bypassed (check that the store is reachable)`,
    );
    this.reportError(operation, wrapped, key);
  }

  private reportError(operation: ErrorEvent['operation'], error: LlmemoError, key?: string): void {
    this.counters.errors++;
    const labels = key === undefined ? undefined : parseKey(key);
    this.countShared(labels?.namespace ?? STORE_WIDE, labels?.model ?? '', 'errors', 1);
    this.logger?.warn?.(`llmemo: ${error.message}`, { code: error.code, operation, key });
    const event: ErrorEvent = { error, operation };
    if (key !== undefined) event.key = key;
    this.emitter.emit('error', event);
  }

  /**
   * For adapters: a call goes to the provider uncached for a reason only the adapter can see (a model whose key
   * would not tell it apart from another). Counted as a bypass, with a `skip` event saying why.
   */
  reportSkip(code: CacheEvents['skip']['code'], reason: string): void {
    this.counters.bypasses++;
    this.skip(code, reason);
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
