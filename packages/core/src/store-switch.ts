import type { Recorder } from './recorder.js';
import type { StoreBinding } from './store-binding.js';
import type { StoreInput } from './stores/resolve.js';

/** How long `useStore` lets calls begun on the old store finish before closing it. */
export const DEFAULT_DRAIN_MS = 30_000;

/**
 * The cache's current store binding, and the ones `useStore()` swapped out that are still finishing their calls.
 * A swap is synchronous (the next call uses the new store); the old store retires in the background: its calls
 * finish, its writes land, then it is closed and a `store` event says so.
 */
export class StoreSwitch {
  private binding: StoreBinding;
  private readonly retiring = new Map<StoreBinding, Promise<void>>();

  constructor(
    private readonly bind: (input: StoreInput | undefined) => StoreBinding,
    input: StoreInput | undefined,
    private readonly recorder: Recorder,
    private readonly graceMs: number,
  ) {
    this.binding = bind(input);
  }

  /** The binding a call that starts now uses. */
  get current(): StoreBinding {
    return this.binding;
  }

  /** Opens the new store (throwing, with the current one kept, when it cannot be used) and retires the old one. */
  swap(input: StoreInput, drainMs: number): Promise<void> {
    const next = this.bind(input);
    const old = this.binding;
    this.binding = next;
    const started = performance.now();
    const retired = old.retire(drainMs, this.graceMs).then((drained) => {
      this.retiring.delete(old);
      const ms = performance.now() - started;
      this.recorder.swapped({ previous: old.store.type, current: next.store.type, drained, ms });
    });
    this.retiring.set(old, retired);
    return retired;
  }

  /** Every store write still running, on the current store and on those being retired. */
  get writes(): Promise<unknown>[] {
    return [this.binding, ...this.retiring.keys()].flatMap((bound) => bound.writes.operations);
  }

  /** Retires every store now: swapped-out ones stop waiting for unfinished streams, and all are closed. */
  async close(): Promise<void> {
    for (const old of this.retiring.keys()) old.hurry();
    await Promise.allSettled(this.retiring.values());
    await this.binding.retire(0, this.graceMs);
  }
}
