import type { LlmemoError, LlmemoErrorCode } from './errors.js';

export interface HitEvent {
  key: string;
  kind: string;
  provider: string;
  model: string;
  namespace: string;
  /** Milliseconds since the entry was written. */
  age: number;
  stale: boolean;
}
export interface MissEvent {
  key: string;
  kind: string;
  provider: string;
  model: string;
  namespace: string;
  /**
   * Why there was no hit: nothing stored, expired, refresh mode, an unreadable entry or failing store, or the
   * store skipped because its circuit breaker is open, or an entry the caller's `accept` refused.
   */
  reason: 'absent' | 'expired' | 'refresh' | 'error' | 'circuit-open' | 'unusable';
}
export interface WriteEvent {
  key: string;
  namespace: string;
  bytes: number;
  ttl: number | null;
}
export interface ErrorEvent {
  error: LlmemoError;
  /** The store operation or stage that failed. */
  operation:
    | 'get'
    | 'set'
    | 'delete'
    | 'decode'
    | 'decrypt'
    | 'encode'
    | 'store'
    | 'close'
    | 'prune'
    | 'stats'
    /** The provider call failed and a stale entry was served instead (stale-if-error). */
    | 'compute'
    /** A background stale-while-revalidate refresh failed. */
    | 'revalidate'
    | 'other';
  key?: string;
}
export interface SkipEvent {
  code: LlmemoErrorCode | 'MODE_OFF' | 'NO_STORE' | 'NOT_CACHEABLE';
  reason: string;
  key?: string;
}
export interface CoalescedEvent {
  key: string;
  /** How many callers are now waiting on the same computation (leader included). */
  waiting: number;
}

export interface BreakerEvent {
  /** 'open': the store is skipped; 'half-open': one probe is let through; 'closed': back to normal. */
  state: 'closed' | 'open' | 'half-open';
  previous: 'closed' | 'open' | 'half-open';
  store: string;
}

export interface EvictEvent {
  /** Entries evicted to stay within maxEntries/maxBytes. */
  count: number;
  store: string;
}

export interface StoreEvent {
  /** The type of the store `useStore()` swapped out (memory, sqlite, redis, keyv, …), now flushed and closed. */
  previous: string;
  /** The type of the store calls use now. */
  current: string;
  /** False when calls begun on the old store were still running at the drain timeout (their writes were dropped). */
  drained: boolean;
  /** Milliseconds from the swap to the old store's close. */
  ms: number;
}

export interface CacheEvents {
  hit: HitEvent;
  evict: EvictEvent;
  miss: MissEvent;
  write: WriteEvent;
  error: ErrorEvent;
  skip: SkipEvent;
  coalesced: CoalescedEvent;
  breaker: BreakerEvent;
  store: StoreEvent;
}

export type Listener<T> = (event: T) => void;

/**
 * A minimal typed emitter. Not node:events: an EventEmitter throws when 'error' has no listener, and a cache
 * that fails open must never turn its own error report into a crash. A listener that throws is isolated too.
 */
export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly onListenerError?: (error: unknown) => void) {}

  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  once<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(name, (event) => {
      off();
      listener(event);
    });
    return off;
  }

  off<K extends keyof Events>(name: K, listener: Listener<Events[K]>): void {
    this.listeners.get(name)?.delete(listener as Listener<never>);
  }

  hasListeners(name: keyof Events): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set || set.size === 0) return;
    for (const listener of set) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (error) {
        this.onListenerError?.(error);
      }
    }
  }
}
