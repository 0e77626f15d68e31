import { describe, expect, it, vi } from 'vitest';
import { LlmemoError } from '../src/errors.js';
import { StatsSync } from '../src/stats-sync.js';
import type { CounterRow } from '../src/stores/store.js';

describe('StatsSync', () => {
  it('sends the buffered deltas in one batch, and nothing when empty', async () => {
    const sync = new StatsSync(10_000, () => {}, undefined);
    sync.add('ns', 'm', 'hits', 2);
    sync.add('ns', 'm', 'hits', 1);
    sync.add('ns', 'other', 'misses', 1);
    const send = vi.fn(async (_rows: CounterRow[]) => {});
    await sync.flush(send);
    expect(send).toHaveBeenCalledTimes(1);
    const rows = send.mock.calls[0]![0];
    expect(rows.find((row) => row.model === 'm')).toMatchObject({ namespace: 'ns', hits: 3 });
    expect(rows.find((row) => row.model === 'other')).toMatchObject({ misses: 1 });
    await sync.flush(send);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('keeps the deltas of a rejected send for the next flush, and drops those of a timed-out one', async () => {
    const warn = vi.fn();
    const sync = new StatsSync(10_000, () => {}, { warn });
    sync.add('ns', 'm', 'hits', 1);
    await sync.flush(async () => {
      throw new Error('down');
    });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('down'));
    const second = vi.fn(async (_rows: CounterRow[]) => {
      throw new LlmemoError('STORE_TIMEOUT', 'slow');
    });
    await sync.flush(second);
    expect(second.mock.calls[0]![0][0]).toMatchObject({ hits: 1 });
    const third = vi.fn(async () => {});
    await sync.flush(third);
    expect(third).not.toHaveBeenCalled();
  });

  it('runs `due` once per interval after a schedule, and never after stop()', async () => {
    vi.useFakeTimers();
    try {
      const due = vi.fn();
      const sync = new StatsSync(1000, due, undefined);
      sync.schedule();
      sync.schedule();
      vi.advanceTimersByTime(1000);
      expect(due).toHaveBeenCalledTimes(1);
      sync.stop();
      sync.schedule();
      vi.advanceTimersByTime(5000);
      expect(due).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('drops a purged namespace so a flush cannot resurrect its counters', async () => {
    const sync = new StatsSync(10_000, () => {}, undefined);
    sync.add('gone', 'm', 'hits', 1);
    sync.add('kept', 'm', 'hits', 1);
    sync.drop('gone');
    const send = vi.fn(async (_rows: CounterRow[]) => {});
    await sync.flush(send);
    expect(send.mock.calls[0]![0].map((row) => row.namespace)).toEqual(['kept']);
  });

  it('serializes flushes: a second flush waits for the one in progress', async () => {
    const sync = new StatsSync(10_000, () => {}, undefined);
    const order: string[] = [];
    let release: () => void = () => {};
    sync.add('ns', 'm', 'hits', 1);
    const first = sync.flush(
      () =>
        new Promise<void>((resolve) => {
          order.push('first started');
          release = () => {
            order.push('first done');
            resolve();
          };
        }),
    );
    sync.add('ns', 'm', 'hits', 1);
    const second = sync.flush(async () => {
      order.push('second');
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first started', 'first done', 'second']);
  });
});
