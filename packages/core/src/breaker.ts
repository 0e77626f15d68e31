/**
 * A circuit breaker around the store. After `threshold` consecutive failures (errors or timeouts) it opens: the
 * cache stops calling the store for `cooldownMs` and every call goes straight to the provider, so a sick store
 * costs nothing instead of `timeoutMs` per call. Then it lets one probe through (half-open); success closes it,
 * failure re-opens it for another cool-down.
 *
 * Hand-written rather than opossum/cockatiel: those wrap one async function each and add timers per call, while
 * the cache needs a shared, synchronous "may I call the store?" check on its hottest path.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  threshold?: number;
  /** How long it stays open before one probe is allowed. Default 5000 ms. */
  cooldownMs?: number;
  onChange?: (state: BreakerState, previous: BreakerState) => void;
  now?: () => number;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  readonly threshold: number;
  readonly cooldownMs: number;
  private readonly onChange: BreakerOptions['onChange'];
  private readonly now: () => number;
  /** How many times it has opened, for stats. */
  opens = 0;

  constructor(options: BreakerOptions = {}) {
    this.threshold = options.threshold ?? 5;
    this.cooldownMs = options.cooldownMs ?? 5000;
    this.onChange = options.onChange;
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /**
   * Whether a store operation may run now. In half-open state only one probe runs at a time; its outcome must be
   * reported with success() or failure().
   */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.cooldownMs) return false;
      this.transition('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    if (this.current !== 'closed') this.transition('closed');
  }

  failure(): void {
    this.probing = false;
    this.failures++;
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.threshold)) {
      this.openedAt = this.now();
      this.opens++;
      this.transition('open');
    }
  }

  private transition(next: BreakerState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    this.onChange?.(next, previous);
  }
}
