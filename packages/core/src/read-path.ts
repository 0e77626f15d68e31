import type { CacheResult } from './cache-types.js';
import type { EntryCodec } from './entry-codec.js';
import { UnreadableEntry } from './entry-codec.js';
import type { Envelope } from './envelope.js';
import { describeError, isLlmemoError, LlmemoError, toLlmemoError } from './errors.js';
import type { MissEvent } from './events.js';
import { type GuardedRead, type GuardedStore, NOT_AT_HAND, STORE_FAILED } from './guarded-store.js';
import { type DerivedKey, deriveKey, type KeyDerivation } from './key.js';
import { type CallOptions, type ResolvedCallOptions, resolveCallOptions } from './options.js';
import type { Recorder } from './recorder.js';
import { replayMiss } from './replay-miss.js';
import type { CacheRequest } from './request.js';
import { CorruptStoredValue } from './stores/store.js';
import type { WriteBehind } from './write-behind.js';

/** A read: the fresh entry, or why there is none (with the expired entry while it may still be served stale). */
export type ReadOutcome<T> =
  | { entry: Envelope<T>; reason?: undefined; stale?: undefined }
  | { entry?: undefined; reason: MissEvent['reason']; stale?: Envelope<T> };

/** Where a call stands after its lookup: answered (maybe stale, maybe to refresh), to compute, or bypassing. */
export type Begun<T> =
  | { type: 'hit'; result: CacheResult<T>; revalidate?: { derived: DerivedKey; call: ResolvedCallOptions } }
  | { type: 'bypass' }
  | { type: 'miss'; derived: DerivedKey; call: ResolvedCallOptions; stale?: Envelope<T> };

export interface ReadPathOptions {
  defaults: Readonly<ResolvedCallOptions>;
  derivation: KeyDerivation;
  isTransientError: (error: unknown) => boolean;
  /** Whether the cache is closed (every call then bypasses it). */
  closed: () => boolean;
  /** Entries keep their request: a replay miss may quote it. */
  recordRequest?: boolean;
}

/**
 * The read side of a call: resolves its options and key, reads and opens the entry, and decides what the caller
 * gets: a hit, a stale hit (stale-while-revalidate, replay, stale-if-error), a miss to compute, or a bypass.
 */
export class ReadPath {
  constructor(
    private readonly options: ReadPathOptions,
    private readonly guarded: GuardedStore,
    private readonly codec: EntryCodec,
    private readonly recorder: Recorder,
    private readonly writes: WriteBehind,
  ) {}

  /** Per-call options over the cache defaults (the defaults object itself when the call overrides nothing). */
  resolveCall(options: CallOptions): ResolvedCallOptions {
    if (
      options.mode === undefined &&
      options.ttl === undefined &&
      options.namespace === undefined &&
      options.noStore === undefined &&
      options.staleWhileRevalidate === undefined &&
      options.staleIfError === undefined
    ) {
      return this.options.defaults;
    }
    return resolveCallOptions(
      {
        mode: options.mode,
        ttl: options.ttl,
        namespace: options.namespace,
        noStore: options.noStore,
        staleWhileRevalidate: options.staleWhileRevalidate,
        staleIfError: options.staleIfError,
      },
      this.options.defaults,
    );
  }

  /** The request's key, or the UNSERIALIZABLE_REQUEST error saying why it has none. */
  derive(request: CacheRequest, namespace: string): DerivedKey | LlmemoError {
    try {
      return deriveKey(request, namespace, this.options.derivation);
    } catch (error) {
      if (isLlmemoError(error, 'UNSERIALIZABLE_REQUEST')) return error;
      return new LlmemoError('UNSERIALIZABLE_REQUEST', `The request cannot be keyed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * The call's key, or undefined (recorded as a bypass) when it skips the cache: mode 'off', closed, unkeyable.
   * `known` is the key its cache derived for this request earlier (see prepared.ts), used only under the same
   * namespace.
   */
  private keyFor(request: CacheRequest, call: ResolvedCallOptions, known?: DerivedKey): DerivedKey | undefined {
    const closed = this.options.closed();
    if (call.mode === 'off' || closed) {
      this.recorder.bypassed(request, call.namespace);
      if (closed) this.recorder.skip('CLOSED', 'The cache is closed; the call went straight to compute.');
      return undefined;
    }
    if (known !== undefined && known.namespace === call.namespace) return known;
    const derived = this.derive(request, call.namespace);
    if (!(derived instanceof LlmemoError)) return derived;
    if (call.mode === 'replay') {
      throw new LlmemoError('CACHE_MISS', `mode 'replay' cannot look this request up: ${derived.message}`, {
        cause: derived,
      });
    }
    this.recorder.bypassed(request, call.namespace);
    this.recorder.skip('UNSERIALIZABLE_REQUEST', derived.message);
    return undefined;
  }

  /**
   * Resolves options and the key, and reads: a hit (maybe stale, maybe to revalidate), a miss to compute (miss
   * event sent; with the expired entry when stale-if-error may serve it), or a bypass.
   */
  async begin<T>(
    request: CacheRequest,
    options: CallOptions,
    canRevalidate = true,
    accept?: (value: T) => boolean,
    known?: DerivedKey,
  ): Promise<Begun<T>> {
    const call = this.resolveCall(options);
    const derived = this.keyFor(request, call, known);
    if (derived === undefined) return { type: 'bypass' };
    let reason: MissEvent['reason'] = 'refresh';
    let stale: Envelope<T> | undefined;
    if (call.mode !== 'refresh') {
      const found = await this.read<T>(derived, request);
      if (found.entry && (accept === undefined || accept(found.entry.body))) {
        return { type: 'hit', result: this.served(found.entry, derived, request, false) };
      }
      // An entry this caller cannot use is a miss, counted once as one, and the fresh value replaces it.
      reason = found.entry ? 'unusable' : found.reason;
      const usable = found.stale && (accept === undefined || accept(found.stale.body)) ? found.stale : undefined;
      if (usable) {
        const expiredFor = Date.now() - (usable.expiresAt ?? 0);
        // Replay never calls the provider: an expired entry still within its window beats a CACHE_MISS.
        const serve = call.mode === 'replay' || (canRevalidate && expiredFor < call.staleWhileRevalidate);
        if (serve) return this.staleHit(usable, derived, request, call);
        if (expiredFor < call.staleIfError) stale = usable;
      }
    }
    if (call.mode === 'replay') {
      throw replayMiss(request, derived, this.guarded.store, this.options.recordRequest ? this.options : undefined);
    }
    this.recorder.missed(derived, request, reason);
    this.recorder.announceMiss(derived, request, reason);
    return stale ? { type: 'miss', derived, call, stale } : { type: 'miss', derived, call };
  }

  /** An expired entry served at once: under replay, or within stale-while-revalidate (refreshed meanwhile). */
  private staleHit<T>(
    stale: Envelope<T>,
    derived: DerivedKey,
    request: CacheRequest,
    call: ResolvedCallOptions,
  ): Begun<T> {
    const result = this.served(stale, derived, request, true);
    return call.mode === 'replay' ? { type: 'hit', result } : { type: 'hit', result, revalidate: { derived, call } };
  }

  /** The stale answer for a failed provider call, when stale-if-error covers it (counted and reported). */
  staleFallback<T>(started: Begun<T>, request: CacheRequest, error: unknown): CacheResult<T> | undefined {
    if (started.type !== 'miss' || !started.stale || !this.options.isTransientError(error)) return undefined;
    const { derived, stale } = started;
    this.recorder.error(
      'compute',
      toLlmemoError(error, 'PROVIDER_FAILED', 'The provider call failed; a stale entry was served instead'),
      derived.key,
    );
    // The lookup counted a miss; the call ends as a stale hit instead: one call, one counter.
    this.recorder.unmissed(derived, request);
    return this.served(stale, derived, request, true);
  }

  /** A hit's result, recorded (counters, metrics, `hit` event). */
  served<T>(entry: Envelope<T>, derived: DerivedKey, request: CacheRequest, stale: boolean): CacheResult<T> {
    const age = Math.max(0, Date.now() - entry.createdAt);
    this.recorder.hit(entry, derived, request, stale, age);
    return { value: entry.body, hit: true, stale, age, key: derived.key, coalesced: false };
  }

  /** `readStored`, timed for the lookup-duration metric. */
  read<T>(derived: DerivedKey, request: CacheRequest): ReadOutcome<T> | Promise<ReadOutcome<T>> {
    const metrics = this.recorder.activeMetrics;
    // Without metrics, readStored's own answer: each async layer on a hit is one more promise and microtask turn.
    if (!metrics) return this.readStored<T>(derived);
    const started = performance.now();
    return Promise.resolve(this.readStored<T>(derived)).then((outcome) => {
      metrics.lookup((performance.now() - started) / 1000, this.recorder.labels(request, derived.namespace));
      return outcome;
    });
  }

  /**
   * Reads and opens the entry; an unreadable one is reported and (unless it may be another deployment's) deleted.
   * With encryption and previous keys, an absent entry is looked for under each previous key's digest too (one more
   * store read per previous key, on misses only) and moved to the current key when found.
   */
  readStored<T>(derived: DerivedKey): ReadOutcome<T> | Promise<ReadOutcome<T>> {
    if (derived.previous === undefined) return this.readAt<T>(derived, derived);
    return this.readRotated<T>(derived, derived.previous);
  }

  private async readRotated<T>(derived: DerivedKey, previous: () => DerivedKey[]): Promise<ReadOutcome<T>> {
    const outcome = await this.readAt<T>(derived, derived);
    if (outcome.reason !== 'absent') return outcome;
    for (const old of previous()) {
      const found = await this.readAt<T>(old, derived);
      if (found.reason !== 'absent') return found;
    }
    return outcome;
  }

  /**
   * Reads and opens the entry stored under `at`; one sealed with a previous key is re-written under `current`.
   * Answered synchronously when the store holds it in this process (the local tier, memory://) and no write of the
   * key is landing: a memory or tier hit then costs no promise of its own.
   */
  private readAt<T>(at: DerivedKey, current: DerivedKey): ReadOutcome<T> | Promise<ReadOutcome<T>> {
    if (!this.guarded.allowed()) return { reason: 'circuit-open' };
    // A call made right after another returned must find its answer, but the write of that answer may still be
    // landing (SQLite, Redis): reading now would miss, and once the flight is released a second provider call
    // follows. How often depends on scheduling (Node 24 and 26 hit it where Node 20 rarely did), so the read waits
    // for the key's own write, which is bounded by timeoutMs like any store operation.
    const landing = this.writes.landing(at.key);
    if (landing === undefined) {
      const text = this.guarded.getNow(at.key);
      if (text !== NOT_AT_HAND) return this.opened<T>(at, current, text);
    }
    return this.readLater<T>(at, current, landing);
  }

  private async readLater<T>(
    at: DerivedKey,
    current: DerivedKey,
    landing: Promise<unknown> | undefined,
  ): Promise<ReadOutcome<T>> {
    if (landing) await landing.catch(() => undefined);
    return this.opened<T>(at, current, await this.guarded.get(at.key));
  }

  /** What a read found: a fresh entry, or why there is none (reported and deleted when corrupt). */
  private opened<T>(derived: DerivedKey, current: DerivedKey, text: GuardedRead): ReadOutcome<T> {
    if (text === undefined) return { reason: 'absent' };
    if (text === STORE_FAILED) return { reason: 'error' };
    if (text instanceof CorruptStoredValue) {
      this.recorder.error(
        'decode',
        new LlmemoError(
          'CORRUPT_ENTRY',
          `The stored value is not an llmemo entry (${text.message}); it was deleted and treated as a miss.`,
        ),
        derived.key,
      );
      this.writes.discard(derived.key);
      return { reason: 'error' };
    }
    const entry = this.open<T>(derived, text, current);
    if (entry === undefined) return { reason: 'error' };
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

  /** Decodes, validates and decrypts stored text; an entry read with a previous key is re-written under the current. */
  private open<T>(derived: DerivedKey, text: string, current: DerivedKey): Envelope<T> | undefined {
    try {
      const opened = this.codec.deserialize<T>(text, derived, derived.key);
      if (opened.rotated) {
        this.writes.rewrite(current, opened.entry, opened.bodyJson!, derived === current ? undefined : derived.key);
      }
      return opened.entry;
    } catch (error) {
      const failure = toLlmemoError(
        error,
        'CORRUPT_ENTRY',
        'The stored entry could not be decoded; it was deleted and treated as a miss',
      );
      this.recorder.error(failure.code === 'DECRYPT_FAILED' ? 'decrypt' : 'decode', failure, derived.key);
      // An entry under a key we do not hold is left alone (another deployment may hold it: a rotation in
      // progress); anything corrupt or tampered with is deleted.
      if (!(error instanceof UnreadableEntry) || error.discard) this.writes.discard(derived.key);
      return undefined;
    }
  }
}
