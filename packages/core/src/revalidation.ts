import { toLlmemoError } from './errors.js';
import type { Recorder } from './recorder.js';

/** After this long a background refresh is presumed stuck, and another may start. */
export const REFRESH_STUCK_MS = 60_000;

/**
 * Stale-while-revalidate's background refreshes: at most one per key, tracked apart from writes because it waits
 * on the provider, which has no bound of ours (so close() gives it a grace period, not a veto).
 */
export class Revalidations {
  /** Keys with a refresh running, and since when (a lookup refresh has no in-process flight to find). */
  private readonly refreshing = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();

  /** `busy(key)`: whether a computation for the key is already in flight (it will refresh the entry itself). */
  constructor(
    private readonly recorder: Recorder,
    private readonly busy: (key: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  get operations(): readonly Promise<void>[] {
    return [...this.running];
  }

  get size(): number {
    return this.running.size;
  }

  /** Runs `refresh` in the background unless the key is being refreshed already; a failure is an `error` event. */
  start(key: string, refresh: () => Promise<unknown>): void {
    const since = this.refreshing.get(key);
    // A refresh that has hung for a minute no longer blocks the next one.
    if (this.busy(key) || (since !== undefined && this.now() - since < REFRESH_STUCK_MS)) return;
    this.refreshing.set(key, this.now());
    const operation = (async () => {
      try {
        await refresh();
      } catch (error) {
        this.recorder.error(
          'revalidate',
          toLlmemoError(error, 'PROVIDER_FAILED', 'The background refresh of a stale entry failed; it stays stale'),
          key,
        );
      } finally {
        this.refreshing.delete(key);
      }
    })();
    this.running.add(operation);
    operation.finally(() => this.running.delete(operation));
  }

  /** Waits for the running refreshes, but at most `graceMs`. */
  async settle(graceMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
