import type {
  CacheEntry,
  CacheOptions,
  CacheResult,
  ComputeOptions,
  InspectedEntry,
  Lookup,
  LookupOptions,
  StoredStats,
} from './cache-types.js';
import type { Duration } from './duration.js';
import { parseDuration } from './duration.js';
import { EntryCodec } from './entry-codec.js';
import { withEnvironment } from './env-options.js';
import type { EntryMetadata } from './envelope.js';
import { LlmemoError, toLlmemoError } from './errors.js';
import type { CacheEvents, Listener } from './events.js';
import { type EntryFilter, resolveFilter } from './filter.js';
import type { DerivedKey } from './key.js';
import { lookupOn } from './lookup.js';
import {
  type EntryInfo,
  type ExportRecord,
  exportRecords,
  type ImportResult,
  importRecords,
  inspectEntry,
  listEntries,
  pruneStore,
  purgeEntries,
} from './maintenance.js';
import { openStore } from './open-store.js';
import {
  type ResolvedCacheConfig,
  type ResolvedCallOptions,
  resolveCacheOptions,
  resolveCallOptions,
  resolveNamespace,
} from './options.js';
import { keyOf, knownKey, type PreparedRequest, prepare, type RequestInput, requestOf } from './prepared.js';
import { PruneTimer } from './prune-timer.js';
import { Recorder } from './recorder.js';
import type { CacheRequest } from './request.js';
import { Revalidations } from './revalidation.js';
import type { CacheStats, PriceTable } from './stats.js';
import { StatsSync } from './stats-sync.js';
import { StoreBinding } from './store-binding.js';
import { DEFAULT_DRAIN_MS, StoreSwitch } from './store-switch.js';
import { readStoredStats, type StoredStatsFilter, storedStatsQuery, withComputeTime } from './stored-stats.js';
import type { StoreInput } from './stores/resolve.js';
import type { CacheStore } from './stores/store.js';
import { pruneUnused, type UnusedFilter, unusedCutoff } from './unused.js';

/**
 * The response cache: keys requests, reads and writes envelopes through a store, and never lets the store turn a
 * provider success into a failure. A façade: each concern lives in its own module (see ARCHITECTURE.md), and this
 * class composes them and holds the public API.
 */
export class ResponseCache {
  readonly namespace: string;
  readonly defaults: Readonly<ResolvedCallOptions>;
  readonly timeoutMs: number;
  readonly maxEntryBytes: number;
  private readonly config: ResolvedCacheConfig;
  private readonly codec: EntryCodec;
  private readonly recorder: Recorder;
  private readonly sync: StatsSync | undefined;
  /** The current store and what is bound to it; a call keeps the one it began on (see useStore). */
  private readonly stores: StoreSwitch;
  private readonly refreshes: Revalidations;
  private readonly pruneTimer: PruneTimer;
  private closed = false;

  constructor(options: CacheOptions = {}) {
    const config = resolveCacheOptions(options);
    this.config = config;
    ({ namespace: this.namespace, defaults: this.defaults } = config);
    ({ timeoutMs: this.timeoutMs, maxEntryBytes: this.maxEntryBytes } = config);
    this.codec = new EntryCodec(config.keyring, config.compression);
    this.sync =
      config.statsIntervalMs === undefined
        ? undefined
        : new StatsSync(config.statsIntervalMs, () => void this.flushStats().catch(() => {}), config.logger);
    this.recorder = new Recorder(config.prices, config.metrics, config.logger, this.sync);
    this.stores = new StoreSwitch((input) => this.bind(input), config.store, this.recorder, this.graceMs);
    this.refreshes = new Revalidations(this.recorder, (key) => this.binding.flights.has(key));
    this.pruneTimer = new PruneTimer(config.pruneIntervalMs);
    this.schedulePrune();
  }

  /** Opens a store (throwing INVALID_OPTIONS for one this cache cannot use) and binds the cache's pieces to it. */
  private bind(input: StoreInput | undefined): StoreBinding {
    const store: CacheStore = openStore({ ...this.config, store: input }, (count) =>
      this.recorder.evicted(count, store.type),
    );
    return new StoreBinding(store, this.config, this.codec, this.recorder, () => this.closed);
  }

  /** The prune timer for the current store: the configured interval, or the store's default. */
  private schedulePrune(): void {
    this.pruneTimer.schedule(this, this.store.type, ResponseCache.scheduledPrune);
  }

  private get binding(): StoreBinding {
    return this.stores.current;
  }

  /** The store calls that start now use (it changes with `useStore`). */
  get store(): CacheStore {
    return this.binding.store;
  }

  /** How long close() and a store swap give background work that may hang. */
  private get graceMs(): number {
    return Math.max(this.timeoutMs, 200);
  }

  /**
   * Switches to another store (a URL, Keyv or adapter, as `createCache` takes) without a restart. Calls that start
   * afterwards use the new store at once; calls in flight finish on the old one (waiting at most `drainTimeout`,
   * default 30 s), whose pending writes are then flushed before it is closed. Resolves once the old store is
   * closed, with a `store` event. Throws `LlmemoError` (INVALID_OPTIONS) for a store this cache cannot use, and
   * keeps the current one.
   */
  useStore(input: StoreInput, options: { drainTimeout?: Duration } = {}): Promise<void> {
    if (this.closed) throw new LlmemoError('CLOSED', 'useStore() on a closed cache: create a new cache instead.');
    const drainMs =
      options.drainTimeout === undefined ? DEFAULT_DRAIN_MS : parseDuration(options.drainTimeout, 'drainTimeout');
    const retired = this.stores.swap(input, drainMs);
    this.schedulePrune();
    return retired;
  }

  /** The prune timer's tick; static, so the timer holds no reference to the cache. */
  private static scheduledPrune(cache: ResponseCache): void {
    cache
      .prune()
      .catch((error: unknown) =>
        cache.recorder.error('prune', toLlmemoError(error, 'STORE_UNAVAILABLE', 'The scheduled prune failed')),
      );
  }

  private resolveNamespace(namespace: string | undefined): string {
    return namespace === undefined ? this.namespace : resolveNamespace(namespace);
  }

  // ---------------------------------------------------------------- keys

  /** The stored key for a request (throws UNSERIALIZABLE_REQUEST for a request that cannot be keyed). */
  key(request: RequestInput, options: { namespace?: string } = {}): string {
    return keyOf(request, this, this.binding, this.resolveNamespace(options.namespace), this.config.derivation).key;
  }

  /** For adapters: the request with its key derived once (see PreparedRequest), memoized by exact inputs only. */
  prepare(request: CacheRequest, options: { namespace?: string } = {}): PreparedRequest {
    const namespace = this.resolveNamespace(options.namespace);
    return prepare(request, this, this.binding, namespace, this.config.derivation);
  }

  // ---------------------------------------------------------------- the main path

  /**
   * Returns the cached value for `request`, or runs `compute` once (however many identical calls are in flight in
   * this process), returns its value, and stores it off the critical path.
   */
  getOrCompute<T>(
    request: RequestInput,
    compute: () => T | Promise<T>,
    options: ComputeOptions<T> = {},
  ): Promise<CacheResult<T>> {
    // The whole call (read, flight, write) stays on the store it began on, even if useStore() swaps it meanwhile.
    const on = this.binding;
    on.enter();
    // The caller gets computeOn's own promise: no extra await on the hot path (nor a change in when it settles).
    const result = this.computeOn(on, requestOf(request), compute, options, knownKey(request, this, on));
    const leave = () => on.leave();
    result.then(leave, leave);
    return result;
  }

  private async computeOn<T>(
    on: StoreBinding,
    request: CacheRequest,
    compute: () => T | Promise<T>,
    options: ComputeOptions<T>,
    known: DerivedKey | undefined,
  ): Promise<CacheResult<T>> {
    const started = await on.reads.begin<T>(request, options, true, options.accept, known);
    if (started.type === 'bypass') {
      return { value: await compute(), hit: false, stale: false, age: 0, coalesced: false };
    }
    const computeOnce = (derived: DerivedKey, call: ResolvedCallOptions) =>
      on.flights.run(derived, compute, (value: T, done: () => void, computeMs: number) =>
        on.writes.afterCompute(
          derived,
          request,
          value,
          call,
          { cacheable: options.cacheable, metadata: withComputeTime(options.metadata, computeMs) },
          done,
        ),
      );
    if (started.type === 'hit') {
      const pending = started.revalidate;
      if (pending) {
        this.refreshes.start(pending.derived.key, () => on.during(() => computeOnce(pending.derived, pending.call)));
      }
      return started.result;
    }
    try {
      return await computeOnce(started.derived, started.call);
    } catch (error) {
      const stale = on.reads.staleFallback(started, request, error);
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
  lookup<T>(request: RequestInput, options: LookupOptions<T> = {}): Promise<Lookup<T>> {
    const on = this.binding;
    return lookupOn(on, this.refreshes, this.recorder, requestOf(request), options, knownKey(request, this, on));
  }

  // ---------------------------------------------------------------- direct access

  /** The cached value for a request, or undefined (a store error is a miss plus an `error` event). */
  async get<T = unknown>(request: RequestInput, options: { namespace?: string } = {}): Promise<T | undefined> {
    return (await this.getEntry<T>(request, options))?.value;
  }

  /** The cached value with its age and metadata, or undefined. */
  async getEntry<T = unknown>(
    request: RequestInput,
    options: { namespace?: string } = {},
  ): Promise<CacheEntry<T> | undefined> {
    return this.binding.entry<T>(requestOf(request), this.resolveNamespace(options.namespace));
  }

  /** Stores a value for a request and waits for the write. Resolves false (with an event) when it was not stored. */
  async set<T>(
    request: RequestInput,
    value: T,
    options: { ttl?: Duration | null; namespace?: string; metadata?: EntryMetadata } = {},
  ): Promise<boolean> {
    const { metadata, ...callOptions } = options;
    const call = resolveCallOptions(callOptions, this.defaults);
    const on = this.binding;
    return on.put(requestOf(request), value, call, metadata, knownKey(request, this, on));
  }

  /** Deletes a request's entry. Resolves true when something was deleted. */
  async delete(request: RequestInput, options: { namespace?: string } = {}): Promise<boolean> {
    const on = this.binding;
    return on.remove(requestOf(request), this.resolveNamespace(options.namespace));
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
    if (resolved.wholeScope) this.sync?.drop(resolved.namespace, resolved.prefix);
    return purgeEntries(this.store, resolved);
  }

  /**
   * Deletes expired entries (SQLite keeps them otherwise; Redis expires keys itself) and, on a bounded SQLite or
   * file store, evicts down to maxEntries/maxBytes. Resolves how many expired entries were deleted. With
   * `{ unusedSince }` instead: deletes the entries (of this namespace, or the filter's) not hit for that long.
   */
  async prune(options?: EntryFilter & UnusedFilter): Promise<number> {
    if (options === undefined) return pruneStore(this.store);
    const { unusedSince, ...filter } = options;
    const cutoff = unusedCutoff(unusedSince);
    const resolved = resolveFilter(filter, this.namespace, { destructive: false });
    await this.flushStats();
    return pruneUnused(this.store, resolved, cutoff);
  }

  /** The entries the filter selects, with metadata only (no body, so no key is needed). */
  entries(filter: EntryFilter = {}, options: { includeExpired?: boolean } = {}): AsyncIterable<EntryInfo> {
    return listEntries(this.store, resolveFilter(filter, this.namespace, { destructive: false }), options);
  }

  /** One stored entry by its key: metadata, and the value when it can be opened. Undefined when absent. */
  inspect(key: string): Promise<InspectedEntry | undefined> {
    return inspectEntry(this.store, this.codec, key);
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
    const query = storedStatsQuery(filter, this.namespace);
    await this.flushStats();
    return readStoredStats(this.store, query, this.config.prices);
  }

  /** The price table of the `prices` option (undefined without one). */
  get priceTable(): PriceTable | undefined {
    return this.config.prices;
  }

  /** Waits for pending writes, then sends this process's counter deltas to the store now (close does this too). */
  async flushStats(): Promise<void> {
    await this.binding.writes.drain();
    // Counters follow the swap: deltas buffered when useStore() ran go to the store the CLI now reads.
    await this.sync?.flush(
      (rows) => this.binding.guarded.addCounters(rows),
      (hits) => this.binding.guarded.addHits(hits),
    );
  }

  // ---------------------------------------------------------------- lifecycle and observability

  stats(): CacheStats {
    return this.recorder.snapshot(this.binding.guarded.breaker);
  }

  on<K extends keyof CacheEvents>(event: K, listener: Listener<CacheEvents[K]>): () => void {
    return this.recorder.events.on(event, listener);
  }

  once<K extends keyof CacheEvents>(event: K, listener: Listener<CacheEvents[K]>): () => void {
    return this.recorder.events.once(event, listener);
  }

  off<K extends keyof CacheEvents>(event: K, listener: Listener<CacheEvents[K]>): void {
    this.recorder.events.off(event, listener);
  }

  /**
   * For adapters: a call goes to the provider uncached for a reason only the adapter can see (a model whose key
   * would not tell it apart from another). Counted as a bypass, with a `skip` event saying why. With
   * `bypass: false`, a looked-up answer the adapter will not store (the `skip` event only, naming the `key`).
   */
  reportSkip(
    code: CacheEvents['skip']['code'],
    reason: string,
    options: { key?: string; bypass?: boolean } = {},
  ): void {
    if (options.bypass !== false) this.recorder.counters.bypasses++;
    this.recorder.skip(code, reason, options.key);
  }

  /** Waits for every write started so far (each bounded by timeoutMs) and for background stale refreshes. */
  async flush(): Promise<void> {
    // Including the writes of calls that began on a store useStore() swapped out.
    while (this.stores.writes.length > 0 || this.refreshes.size > 0) {
      await Promise.allSettled([...this.stores.writes, ...this.refreshes.operations]);
    }
  }

  /** Flushes pending writes and counters, stops timers and closes the store's connection. Later calls bypass. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sync?.stop();
    this.pruneTimer.stop();
    // Background refreshes wait on the provider, which may hang: give them a grace period, not a veto.
    await this.refreshes.settle(this.graceMs);
    await this.flushStats();
    await this.stores.close();
  }
}

/**
 * Creates a response cache. `store`, `mode`, `namespace` and `ttl` not given here are read from LLMEMO_STORE,
 * LLMEMO_MODE, LLMEMO_NAMESPACE and LLMEMO_TTL (see env-options.ts). Invalid options (and invalid variables) throw
 * `LlmemoError` with code INVALID_OPTIONS right here.
 */
export function createCache(options: CacheOptions = {}): ResponseCache {
  return new ResponseCache(withEnvironment(options));
}
