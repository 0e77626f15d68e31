import { CircuitBreaker } from './breaker.js';
import { toLlmemoError } from './errors.js';
import type { ErrorEvent } from './events.js';
import type { HitRow } from './hits.js';
import type { Recorder } from './recorder.js';
import { type CacheStore, CorruptStoredValue, type CounterRow } from './stores/store.js';
import { withTimeout } from './timeout.js';

/** What `GuardedStore.get` resolves when the store failed (already reported: treat it as a miss). */
export const STORE_FAILED: unique symbol = Symbol('llmemo.storeFailed');

/** What `GuardedStore.getNow` returns when the store cannot answer without I/O (call `get`). */
export const NOT_AT_HAND: unique symbol = Symbol('llmemo.notAtHand');

/** What a guarded read gives: the text, absent, a reported failure, or the corrupt value the store found. */
export type GuardedRead = string | undefined | typeof STORE_FAILED | CorruptStoredValue;

/**
 * The store as the cache uses it: every operation bounded by `timeoutMs`, skipped while the circuit breaker is
 * open, and failing open: a store error becomes an `error` event (and a breaker failure), never the caller's error.
 */
export class GuardedStore {
  readonly breaker: CircuitBreaker | undefined;

  constructor(
    readonly store: CacheStore,
    readonly timeoutMs: number,
    breaker: { threshold: number; cooldownMs: number } | undefined,
    private readonly recorder: Recorder,
  ) {
    this.breaker = breaker && this.createBreaker(breaker.threshold, breaker.cooldownMs);
    if (store.type === 'keyv') {
      // A Keyv the app built may swallow store errors (it returns undefined); its error events are all we get.
      store.keyv.on('error', (error: unknown) =>
        recorder.error('store', toLlmemoError(error, 'STORE_UNAVAILABLE', 'The store reported an error')),
      );
    }
  }

  private createBreaker(threshold: number, cooldownMs: number): CircuitBreaker {
    const { logger } = this.recorder;
    return new CircuitBreaker({
      threshold,
      cooldownMs,
      onChange: (state, previous) => {
        if (state === 'open') {
          logger?.warn?.(
            `llmemo: the ${this.store.type} store failed ${threshold} times in a row; skipping it for ${cooldownMs} ms (calls go to the provider).`,
          );
        } else if (state === 'closed') {
          logger?.info?.(`llmemo: the ${this.store.type} store answers again; the cache is back on.`);
        }
        this.recorder.events.emit('breaker', { state, previous, store: this.store.type });
      },
    });
  }

  /** Whether the breaker lets a store operation through now (always, without a breaker). */
  allowed(): boolean {
    return this.breaker === undefined || this.breaker.allow();
  }

  /**
   * The stored text, undefined when absent, STORE_FAILED after a reported failure, or the CorruptStoredValue the
   * store found (not a store failure: the caller reports and deletes the entry). Call only when `allowed()`.
   */
  async get(key: string): Promise<GuardedRead> {
    // An in-process tier answers without the store, unless the breaker is probing or skipping the store.
    if (this.breaker === undefined || this.breaker.state === 'closed') {
      const local = this.store.cached?.(key);
      if (local !== undefined) return local;
    }
    try {
      // The in-process LRU answers synchronously and cannot hang, so it skips the timer (the hit path's hottest case).
      const text = await (this.store.type === 'memory'
        ? this.store.get(key)
        : withTimeout(this.store.get(key), this.timeoutMs, () => this.timeoutMessage('get')));
      this.breaker?.success();
      return text;
    } catch (error) {
      return this.readFailed(error, key);
    }
  }

  /**
   * What `get` would resolve, when an in-process tier or an in-process store answers without I/O; otherwise
   * NOT_AT_HAND (then call `get`). A memory hit or miss then costs no promise of ours. Call only when `allowed()`.
   */
  getNow(key: string): GuardedRead | typeof NOT_AT_HAND {
    if (this.breaker === undefined || this.breaker.state === 'closed') {
      const local = this.store.cached?.(key);
      if (local !== undefined) return local;
    }
    if (this.store.getNow === undefined) return NOT_AT_HAND;
    try {
      const text = this.store.getNow(key);
      this.breaker?.success();
      return text;
    } catch (error) {
      return this.readFailed(error, key);
    }
  }

  /** A read that threw, for `get` and `getNow` alike: a corrupt value is the store working; anything else failed. */
  private readFailed(error: unknown, key: string): CorruptStoredValue | typeof STORE_FAILED {
    if (error instanceof CorruptStoredValue) {
      this.breaker?.success();
      return error;
    }
    this.failed('get', error, key);
    return STORE_FAILED;
  }

  /** Writes the text; false after a reported failure. Call only when `allowed()`. */
  async set(key: string, text: string, ttlMs: number | undefined): Promise<boolean> {
    try {
      // As for get: the in-process LRU cannot hang, so every miss's write skips arming and clearing a timer.
      const stored = this.store.set(key, text, ttlMs);
      await (this.store.type === 'memory'
        ? stored
        : withTimeout(stored, this.timeoutMs, () => this.timeoutMessage('set')));
      this.breaker?.success();
      return true;
    } catch (error) {
      this.failed('set', error, key);
      return false;
    }
  }

  /** Deletes the key; true when something was deleted, false when absent or after a reported failure. */
  async delete(key: string): Promise<boolean> {
    try {
      return await withTimeout(this.store.delete(key), this.timeoutMs, () => this.timeoutMessage('delete'));
    } catch (error) {
      this.failed('delete', error, key);
      return false;
    }
  }

  /** Adds counter deltas; throws (the stats flush decides what a failure means for the deltas). */
  addCounters(rows: readonly CounterRow[]): Promise<void> {
    // Bounded like any store operation: close() on a dead store must not wait for counters.
    return withTimeout(this.store.addCounters(rows), this.timeoutMs, () => this.timeoutMessage('counter update'));
  }

  /** Adds per-entry hit counts; throws, like addCounters. */
  addHits(rows: readonly HitRow[]): Promise<void> {
    return withTimeout(this.store.addHits(rows), this.timeoutMs, () => this.timeoutMessage('hit count update'));
  }

  /** Closes the store's connection, waiting at most `graceMs`; a failure is reported, not thrown. */
  async close(graceMs: number): Promise<void> {
    try {
      await withTimeout(this.store.close(), graceMs, () => this.timeoutMessage('close'));
    } catch (error) {
      this.recorder.error('close', toLlmemoError(error, 'STORE_UNAVAILABLE', 'Closing the store failed'));
    }
  }

  timeoutMessage(operation: string): string {
    return `The ${this.store.type} store did not complete a ${operation} within ${this.timeoutMs} ms, so the cache was bypassed. Check the store's health, or raise timeoutMs.`;
  }

  /** A failed store operation: counts against the breaker and is reported as an `error` event. */
  failed(operation: ErrorEvent['operation'], error: unknown, key?: string): void {
    this.breaker?.failure();
    const wrapped = toLlmemoError(
      error,
      'STORE_UNAVAILABLE',
      `The ${this.store.type} store failed a ${operation}, so the cache was bypassed (check that the store is reachable)`,
    );
    this.recorder.error(operation, wrapped, key);
  }
}
