import type { Logger } from './cache-types.js';
import { describeError, isLlmemoError } from './errors.js';
import { HitBuffer, type HitRow } from './hits.js';
import { CounterBuffer } from './stats.js';
import type { CounterField, CounterRow } from './stores/store.js';

/**
 * The `persistStats` side of stats: counter deltas other processes (the CLI) read from the store. The hit path only
 * bumps a number in the buffer; a timer (and flush/close) sends them in one batched write, off every request's
 * critical path.
 */
export class StatsSync {
  private readonly buffer = new CounterBuffer();
  private readonly hits = new HitBuffer();
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

  /** One hit of one entry (its count and last-hit time go to the store with the next flush). */
  hit(key: string, at: number): void {
    this.hits.add(key, at);
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
  drop(namespace: string | undefined, keyPrefix?: string): void {
    this.buffer.drop(namespace);
    this.hits.drop(keyPrefix);
  }

  /**
   * Sends the buffered deltas through `send` and the buffered per-entry hits through `sendHits` (one flush at a
   * time; a flush in progress is waited for first).
   */
  async flush(
    send: (rows: CounterRow[]) => Promise<void>,
    sendHits: (rows: HitRow[]) => Promise<void> = async () => {},
  ): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.sending) await this.sending;
    if (this.buffer.empty && this.hits.empty) return;
    const rows = this.buffer.take();
    const hits = this.hits.take();
    this.sending = (async () => {
      await this.sendOne(rows, send, (back) => this.buffer.restore(back), 'counters');
      await this.sendOne(hits, sendHits, (back) => this.hits.restore(back), 'hit counts');
    })();
    try {
      await this.sending;
    } finally {
      this.sending = undefined;
    }
  }

  private async sendOne<R>(
    rows: R[],
    send: (rows: R[]) => Promise<void>,
    restore: (rows: R[]) => void,
    what: string,
  ): Promise<void> {
    if (rows.length === 0) return;
    try {
      await send(rows);
    } catch (error) {
      // Not worth an error event on every flush of an outage. A rejected update is retried with the next flush;
      // a timed-out one may still land, so it is dropped rather than risk counting it twice.
      if (!isLlmemoError(error, 'STORE_TIMEOUT')) restore(rows);
      this.logger?.warn?.(`llmemo: could not save ${what} to the store: ${describeError(error)}`);
    }
  }
}
