import type { Logger } from './cache-types.js';
import { describeError, isLlmemoError } from './errors.js';
import { CounterBuffer } from './stats.js';
import type { CounterField, CounterRow } from './stores/store.js';

/**
 * The `persistStats` side of stats: counter deltas other processes (the CLI) read from the store. The hit path only
 * bumps a number in the buffer; a timer (and flush/close) sends them in one batched write, off every request's
 * critical path.
 */
export class StatsSync {
  private readonly buffer = new CounterBuffer();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> | undefined;
  private stopped = false;

  /** `due` runs when the interval elapses (the cache flushes its writes, then these counters). */
  constructor(
    private readonly intervalMs: number,
    private readonly due: () => void,
    private readonly logger: Logger | undefined,
  ) {}

  add(namespace: string, model: string, field: CounterField, amount: number): void {
    this.buffer.add(namespace, model, field, amount);
  }

  /** The pending row of this minute for (namespace, model): a hit bumps several of its fields at once. */
  row(namespace: string, model: string): CounterRow {
    return this.buffer.current(namespace, model);
  }

  /** Starts the interval timer unless one is running (or the cache is closing). */
  schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.due();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /** No more timers: the cache is closing (a last flush still sends what is buffered). */
  stop(): void {
    this.stopped = true;
  }

  /** Drops the buffered deltas of a purged namespace (or all), so a flush cannot resurrect its counters. */
  drop(namespace: string | undefined): void {
    this.buffer.drop(namespace);
  }

  /** Sends the buffered deltas through `send` (one at a time; a flush in progress is waited for first). */
  async flush(send: (rows: CounterRow[]) => Promise<void>): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.sending) await this.sending;
    if (this.buffer.empty) return;
    const rows = this.buffer.take();
    this.sending = (async () => {
      try {
        await send(rows);
      } catch (error) {
        // Not worth an error event on every flush of an outage. A rejected update is retried with the next flush;
        // a timed-out one may still land, so it is dropped rather than risk counting it twice.
        if (!isLlmemoError(error, 'STORE_TIMEOUT')) this.buffer.restore(rows);
        this.logger?.warn?.(`llmemo: could not save counters to the store: ${describeError(error)}`);
      }
    })();
    try {
      await this.sending;
    } finally {
      this.sending = undefined;
    }
  }
}
