import { describe, expect, it, vi } from 'vitest';
import type { ErrorEvent } from '../src/events.js';
import { Recorder } from '../src/recorder.js';
import { REFRESH_STUCK_MS, Revalidations } from '../src/revalidation.js';

function setup(busy: (key: string) => boolean = () => false) {
  let now = 1_000_000;
  const recorder = new Recorder(undefined, undefined, undefined, undefined);
  const errors: ErrorEvent[] = [];
  recorder.events.on('error', (event) => errors.push(event));
  const refreshes = new Revalidations(recorder, busy, () => now);
  return { refreshes, errors, advance: (ms: number) => (now += ms) };
}

describe('Revalidations', () => {
  it('runs one refresh per key at a time', async () => {
    const { refreshes } = setup();
    let finish: () => void = () => {};
    const refresh = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    refreshes.start('k', refresh);
    refreshes.start('k', refresh);
    refreshes.start('other', async () => {});
    expect(refresh).toHaveBeenCalledTimes(1);
    finish();
    await Promise.all(refreshes.operations);
    refreshes.start('k', refresh);
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('leaves a key alone while a computation for it is in flight', () => {
    const { refreshes } = setup((key) => key === 'k');
    const refresh = vi.fn(async () => {});
    refreshes.start('k', refresh);
    expect(refresh).not.toHaveBeenCalled();
  });

  it('lets another refresh start once one has hung for REFRESH_STUCK_MS', () => {
    const { refreshes, advance } = setup();
    const hung = vi.fn(() => new Promise<void>(() => {}));
    refreshes.start('k', hung);
    advance(REFRESH_STUCK_MS - 1);
    refreshes.start('k', hung);
    expect(hung).toHaveBeenCalledTimes(1);
    advance(1);
    refreshes.start('k', hung);
    expect(hung).toHaveBeenCalledTimes(2);
  });

  it('reports a failed refresh as a revalidate error event', async () => {
    const { refreshes, errors } = setup();
    refreshes.start('k', async () => {
      throw new Error('provider down');
    });
    await Promise.all(refreshes.operations);
    expect(errors).toEqual([
      expect.objectContaining({
        operation: 'revalidate',
        key: 'k',
        error: expect.objectContaining({ code: 'PROVIDER_FAILED' }),
      }),
    ]);
  });

  it('settle() waits for running refreshes, but no longer than the grace period', async () => {
    const { refreshes } = setup();
    refreshes.start('hung', () => new Promise<void>(() => {}));
    const started = performance.now();
    await refreshes.settle(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(refreshes.size).toBe(1);
  });
});
