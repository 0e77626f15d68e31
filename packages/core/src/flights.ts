import type { CacheResult } from './cache-types.js';
import { decode, encode } from './codec.js';
import { awaitOtherProcess, type CrossProcess } from './cross-process.js';
import type { Envelope } from './envelope.js';
import type { GuardedStore } from './guarded-store.js';
import type { DerivedKey } from './key.js';
import type { Recorder } from './recorder.js';
import type { RedisStore } from './stores/redis.js';

interface Flight<T> {
  waiting: number;
  promise: Promise<{ value: T; bodyJson?: string; age?: number }>;
}

/** Takes the key's cross-process lock, or waits for the holder's entry; undefined means compute. */
export type CrossProcessLock = <T>(
  derived: DerivedKey,
) => Promise<{ entry?: Envelope<T>; release?: () => void } | undefined>;

/** The lock of `crossProcessCoalescing` over the guarded store (a Redis store); `read` reads the entry. */
export function crossProcessLock(
  guarded: GuardedStore,
  settings: CrossProcess,
  read: <T>(derived: DerivedKey) => Promise<Envelope<T> | undefined>,
): CrossProcessLock {
  return <T>(derived: DerivedKey) =>
    awaitOtherProcess<T>(guarded.store as RedisStore, derived.key, settings, {
      timeoutMs: guarded.timeoutMs,
      timeoutMessage: () => guarded.timeoutMessage('lock'),
      read: () => read<T>(derived),
    });
}

/**
 * Coalescing: however many identical misses arrive while one is computing, the provider is called once. In this
 * process through a map of flights by key; across processes (with `lock`) through a short Redis lock, so the
 * others wait for the leader's entry instead of computing.
 */
export class Flights {
  private readonly inflight = new Map<string, Flight<unknown>>();

  constructor(
    private readonly recorder: Recorder,
    private readonly lock: CrossProcessLock | undefined,
  ) {}

  /** Whether a computation for this key is running (or its write has not landed yet). */
  has(key: string): boolean {
    return this.inflight.has(key);
  }

  /**
   * Joins the key's flight, or leads one: computes, then `persist(value, done, computeMs)` starts the write (returning the
   * encoded body, if any, for the followers) and calls `done` once it settled.
   */
  run<T>(
    derived: DerivedKey,
    compute: () => T | Promise<T>,
    persist: (value: T, done: () => void, computeMs: number) => string | undefined,
  ): Promise<CacheResult<T>> {
    const existing = this.inflight.get(derived.key) as Flight<T> | undefined;
    return existing ? this.join(derived, existing) : this.lead(derived, compute, persist);
  }

  private async join<T>(derived: DerivedKey, flight: Flight<T>): Promise<CacheResult<T>> {
    flight.waiting++;
    this.recorder.coalesced(derived.key, flight.waiting);
    const shared = await flight.promise;
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

  private async lead<T>(
    derived: DerivedKey,
    compute: () => T | Promise<T>,
    persist: (value: T, done: () => void, computeMs: number) => string | undefined,
  ): Promise<CacheResult<T>> {
    let settleWrite: () => void = () => {};
    const writeSettled = new Promise<void>((resolve) => {
      settleWrite = resolve;
    });
    const flight: Flight<T> = {
      waiting: 1,
      promise: (async () => {
        const lock = this.lock ? await this.lock<T>(derived) : undefined;
        if (lock?.entry) {
          settleWrite();
          const { entry } = lock;
          // Re-encoded so each waiting caller decodes its own copy, as with a local flight.
          return { value: entry.body, bodyJson: encode(entry.body), age: Math.max(0, Date.now() - entry.createdAt) };
        }
        try {
          const started = performance.now();
          const value = await compute();
          return { value, bodyJson: persist(value, settleWrite, performance.now() - started) };
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
}
