import { everyWhileAlive } from './maintenance.js';
import { DEFAULT_PRUNE_INTERVAL_MS } from './options.js';

/** Stores that keep expired entries until pruned (Redis expires keys itself): pruned hourly unless told otherwise. */
const PRUNED_BY_DEFAULT = ['sqlite', 'memory', 'file'];

/** The scheduled prune of a cache's current store; rescheduled when the cache swaps stores. */
export class PruneTimer {
  private timer: ReturnType<typeof setInterval> | undefined;

  /** `intervalMs`: the configured interval (0: never), or undefined for the store's default. */
  constructor(private readonly intervalMs: number | undefined) {}

  /**
   * Restarts the timer for a store of this type. The timer holds `target` through a WeakRef only (see
   * everyWhileAlive), so `tick` must not hold it either.
   */
  schedule<T extends object>(target: T, storeType: string, tick: (target: T) => void): void {
    this.stop();
    const every = this.intervalMs ?? (PRUNED_BY_DEFAULT.includes(storeType) ? DEFAULT_PRUNE_INTERVAL_MS : 0);
    if (every > 0) this.timer = everyWhileAlive(target, every, tick);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
