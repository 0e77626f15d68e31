import type { CacheEntry } from './cache-types.js';
import type { EntryCodec } from './entry-codec.js';
import type { EntryMetadata } from './envelope.js';
import { LlmemoError } from './errors.js';
import { crossProcessLock, Flights } from './flights.js';
import { GuardedStore } from './guarded-store.js';
import { type DerivedKey, recordedRequest } from './key.js';
import type { ResolvedCacheConfig, ResolvedCallOptions } from './options.js';
import { ReadPath } from './read-path.js';
import type { Recorder } from './recorder.js';
import type { CacheRequest } from './request.js';
import type { CacheStore } from './stores/store.js';
import { WriteBehind } from './write-behind.js';

/**
 * One store and everything bound to it: the guarded store (its breaker), the write-behind queue, the read path and
 * the flights. `cache.useStore()` swaps the whole binding at once, so a call that began on one store reads, coalesces
 * and writes on that store only, and the new store starts with a fresh breaker and no flights. Each call `enter`s the
 * binding it began on and `leave`s it when done; `retire` waits for them before flushing and closing the store.
 */
export class StoreBinding {
  readonly guarded: GuardedStore;
  readonly writes: WriteBehind;
  readonly reads: ReadPath;
  readonly flights: Flights;
  /** Calls (and background refreshes) that began on this store and may still read or write it. */
  private active = 0;
  private quiet: (() => void) | undefined;

  constructor(
    readonly store: CacheStore,
    config: ResolvedCacheConfig,
    codec: EntryCodec,
    private readonly recorder: Recorder,
    closed: () => boolean,
  ) {
    this.guarded = new GuardedStore(store, config.timeoutMs, config.breaker, recorder);
    // With recordRequest, each entry keeps the canonical request beside the answer, for reviewers.
    const describe = config.recordRequest
      ? (request: CacheRequest) => recordedRequest(request, config.derivation)
      : undefined;
    this.writes = new WriteBehind(this.guarded, codec, recorder, config.maxEntryBytes, describe);
    this.reads = new ReadPath({ ...config, closed }, this.guarded, codec, recorder, this.writes);
    const readEntry = async <T>(derived: DerivedKey) => (await this.reads.readStored<T>(derived)).entry;
    const lock = config.crossProcess && crossProcessLock(this.guarded, config.crossProcess, readEntry);
    this.flights = new Flights(recorder, lock);
  }

  /** A call begins on this store (a counter, not a closure: this is on every call's path). */
  enter(): void {
    this.active++;
  }

  /** A call that entered is done with this store (its write, if any, is already queued). */
  leave(): void {
    this.active--;
    if (this.active === 0) this.quiet?.();
  }

  /** Stops waiting for the calls still in flight (the cache is closing). */
  hurry(): void {
    this.quiet?.();
  }

  /** `cache.getEntry()` on this store: the entry with its age and metadata (a hit), or undefined (a miss). */
  async entry<T>(request: CacheRequest, namespace: string): Promise<CacheEntry<T> | undefined> {
    const derived = this.reads.derive(request, namespace);
    if (derived instanceof LlmemoError) {
      this.recorder.skip('UNSERIALIZABLE_REQUEST', derived.message);
      return undefined;
    }
    this.enter();
    let found: Awaited<ReturnType<typeof this.reads.read<T>>>;
    try {
      found = await this.reads.read<T>(derived, request);
    } finally {
      this.leave();
    }
    if (!found.entry) {
      this.recorder.missed(derived, request, found.reason);
      return undefined;
    }
    const { value, age } = this.reads.served(found.entry, derived, request, false);
    const { usage, responseModel, createdAt, expiresAt } = found.entry;
    const metadata: EntryMetadata = {};
    if (usage) metadata.usage = usage;
    if (responseModel) metadata.responseModel = responseModel;
    const expires = expiresAt === null ? null : new Date(expiresAt);
    return { value, key: derived.key, age, stale: false, createdAt: new Date(createdAt), expiresAt: expires, metadata };
  }

  /** `cache.set()` on this store: writes a value and waits for it; false (with an event) when it was not stored. */
  async put<T>(
    request: CacheRequest,
    value: T,
    call: ResolvedCallOptions,
    metadata: EntryMetadata | undefined,
    known?: DerivedKey,
  ): Promise<boolean> {
    // A key its cache derived earlier (cache.prepare), honoured under the namespace it was derived for only.
    const derived =
      known !== undefined && known.namespace === call.namespace ? known : this.reads.derive(request, call.namespace);
    if (derived instanceof LlmemoError) {
      this.recorder.skip('UNSERIALIZABLE_REQUEST', derived.message);
      return false;
    }
    const prepared = this.writes.prepare(derived, request, value, call, metadata);
    if (prepared === undefined || call.ttl === 0) return false;
    return this.writes.write(derived, prepared, call.ttl);
  }

  /** `cache.delete()` on this store: true when something was deleted. */
  async remove(request: CacheRequest, namespace: string): Promise<boolean> {
    const derived = this.reads.derive(request, namespace);
    if (derived instanceof LlmemoError) return false;
    // With rotation, the request may also have an entry under a previous key's digest: erase that too.
    const keys = [derived.key, ...(derived.previous?.().map((old) => old.key) ?? [])];
    const deleted = await this.during(() => Promise.all(keys.map((key) => this.guarded.delete(key))));
    return deleted.includes(true);
  }

  /** Runs a background task (a stale refresh) as a call on this store. */
  async during<T>(task: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await task();
    } finally {
      this.leave();
    }
  }

  /**
   * Waits (at most `drainMs`) for the calls that began here, then for their writes, and closes the store (waiting
   * at most `graceMs`). Resolves whether every call finished in time: a stream whose commit comes later finds the
   * store closed and is not stored.
   */
  async retire(drainMs: number, graceMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained =
      this.active === 0 ||
      (await new Promise<boolean>((resolve) => {
        this.quiet = () => resolve(this.active === 0);
        timer = setTimeout(() => resolve(false), drainMs);
        timer.unref?.();
      }));
    clearTimeout(timer);
    this.quiet = undefined;
    await this.writes.drain();
    this.writes.seal();
    await this.guarded.close(graceMs);
    return drained;
  }
}
