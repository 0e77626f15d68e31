import { describe, expect, it, vi } from 'vitest';
import type { ErrorEvent } from '../src/events.js';
import { GuardedStore, STORE_FAILED } from '../src/guarded-store.js';
import { Recorder } from '../src/recorder.js';
import { CorruptStoredValue } from '../src/stores/store.js';
import { StubStore } from './helpers/stub-store.js';

function setup(breaker?: { threshold: number; cooldownMs: number }) {
  const stub = new StubStore();
  const recorder = new Recorder(undefined, undefined, undefined, undefined);
  const errors: ErrorEvent[] = [];
  recorder.events.on('error', (event) => errors.push(event));
  const guarded = new GuardedStore(stub.asStore(), 20, breaker, recorder);
  return { stub, recorder, errors, guarded };
}

describe('GuardedStore', () => {
  it('passes reads, writes and deletes through while the store answers', async () => {
    const { stub, guarded, errors } = setup();
    expect(await guarded.set('k', 'v', 1000)).toBe(true);
    expect(await guarded.get('k')).toBe('v');
    expect(await guarded.get('absent')).toBeUndefined();
    expect(await guarded.delete('k')).toBe(true);
    expect(stub.data.size).toBe(0);
    expect(errors).toEqual([]);
  });

  it('turns a failure into STORE_FAILED / false plus an error event naming the operation', async () => {
    const { stub, guarded, errors, recorder } = setup();
    stub.mode = 'fail';
    expect(await guarded.get('k')).toBe(STORE_FAILED);
    expect(await guarded.set('k', 'v', undefined)).toBe(false);
    expect(await guarded.delete('k')).toBe(false);
    expect(errors.map((event) => [event.operation, event.error.code, event.key])).toEqual([
      ['get', 'STORE_UNAVAILABLE', 'k'],
      ['set', 'STORE_UNAVAILABLE', 'k'],
      ['delete', 'STORE_UNAVAILABLE', 'k'],
    ]);
    expect(recorder.snapshot(undefined).errors).toBe(3);
  });

  it('gives up on a hanging store after timeoutMs with STORE_TIMEOUT', async () => {
    const { stub, guarded, errors } = setup();
    stub.mode = 'hang';
    expect(await guarded.get('k')).toBe(STORE_FAILED);
    expect(errors[0]!.error).toMatchObject({ code: 'STORE_TIMEOUT', message: expect.stringContaining('20 ms') });
    expect(await guarded.set('k', 'v', undefined)).toBe(false);
    expect(errors[1]).toMatchObject({ operation: 'set', error: { code: 'STORE_TIMEOUT' } });
    await expect(guarded.addCounters([])).rejects.toMatchObject({ code: 'STORE_TIMEOUT' });
  });

  it('hands a corrupt stored value back to the caller instead of counting it as a store failure', async () => {
    const { stub, guarded, errors } = setup({ threshold: 1, cooldownMs: 60_000 });
    stub.get = async () => {
      throw new CorruptStoredValue('not JSON');
    };
    expect(await guarded.get('k')).toBeInstanceOf(CorruptStoredValue);
    expect(errors).toEqual([]);
    expect(guarded.breaker!.state).toBe('closed');
  });

  it('opens the breaker after `threshold` failures, skips the store, and says so in a breaker event', async () => {
    const { stub, guarded, recorder } = setup({ threshold: 2, cooldownMs: 60_000 });
    const transitions = vi.fn();
    recorder.events.on('breaker', transitions);
    stub.mode = 'fail';
    await guarded.get('a');
    expect(guarded.allowed()).toBe(true);
    await guarded.get('b');
    expect(guarded.allowed()).toBe(false);
    expect(transitions).toHaveBeenCalledWith({ state: 'open', previous: 'closed', store: 'sqlite' });
    expect(recorder.snapshot(guarded.breaker)).toMatchObject({ breaker: { state: 'open', opens: 1 } });
  });

  it('reports (not throws) a failed close', async () => {
    const { stub, guarded, errors } = setup();
    stub.mode = 'fail';
    await expect(guarded.close(50)).resolves.toBeUndefined();
    expect(errors[0]).toMatchObject({ operation: 'close' });
  });

  it('skips the timer for the in-process memory store, on reads and writes', async () => {
    const { stub, guarded } = setup();
    stub.type = 'memory';
    stub.data.set('k', 'v');
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      expect(await guarded.get('k')).toBe('v');
      expect(await guarded.set('k2', 'v2', undefined)).toBe(true);
      expect(stub.data.get('k2')).toBe('v2');
      expect(timers).not.toHaveBeenCalled();
    } finally {
      timers.mockRestore();
    }
  });
});

describe('GuardedStore with an in-process tier', () => {
  it('answers from the tier without the store while the breaker is closed, and asks the store otherwise', async () => {
    let now = 0;
    const { stub, recorder } = setup();
    const store = Object.assign(stub.asStore(), { cached: (key: string) => (key === 'k' ? 'local' : undefined) });
    const guarded = new GuardedStore(store, 20, { threshold: 1, cooldownMs: 100 }, recorder);
    (guarded.breaker as unknown as { now: () => number }).now = () => now;
    stub.data.set('k', 'remote');
    expect(await guarded.get('k')).toBe('local');
    expect(stub.calls).toEqual([]);
    stub.mode = 'fail';
    expect(await guarded.get('other')).toBe(STORE_FAILED);
    expect(guarded.breaker?.state).toBe('open');
    expect(guarded.allowed()).toBe(false);
    // The probe after the cool-down goes to the store, never to the tier, so it tests the store's health.
    now = 200;
    expect(guarded.allowed()).toBe(true);
    stub.mode = 'ok';
    expect(await guarded.get('k')).toBe('remote');
    expect(guarded.breaker?.state).toBe('closed');
    expect(await guarded.get('k')).toBe('local');
  });
});
