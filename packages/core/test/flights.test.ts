import { describe, expect, it, vi } from 'vitest';
import type { Envelope } from '../src/envelope.js';
import { type CrossProcessLock, Flights } from '../src/flights.js';
import type { DerivedKey } from '../src/key.js';
import { Recorder } from '../src/recorder.js';

const derived: DerivedKey = { key: 'llmemo:v1:ns:chat:p:m:abc', digest: 'abc', namespace: 'ns', kind: 'chat' };

function deferred<T = void>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('Flights', () => {
  it('computes once for concurrent callers; each follower gets its own copy', async () => {
    const recorder = new Recorder(undefined, undefined, undefined, undefined);
    const flights = new Flights(recorder, undefined);
    const compute = vi.fn(async () => ({ text: 'answer' }));
    const persist = (value: unknown, done: () => void) => {
      done();
      return JSON.stringify(value);
    };
    const results = await Promise.all([1, 2, 3].map(() => flights.run(derived, compute, persist)));
    expect(compute).toHaveBeenCalledTimes(1);
    expect(results.map((result) => [result.hit, result.coalesced])).toEqual([
      [false, false],
      [false, true],
      [false, true],
    ]);
    expect(results[1]!.value).toEqual({ text: 'answer' });
    expect(results[1]!.value).not.toBe(results[2]!.value);
    expect(recorder.snapshot(undefined).coalesced).toBe(2);
  });

  it('keeps the flight open until the write settles, so a late caller joins instead of recomputing', async () => {
    const flights = new Flights(new Recorder(undefined, undefined, undefined, undefined), undefined);
    const write = deferred();
    const compute = vi.fn(async () => 'v');
    const persist = (_value: string, done: () => void) => {
      write.promise.then(done);
      return '"v"';
    };
    await flights.run(derived, compute, persist);
    expect(flights.has(derived.key)).toBe(true);
    const late = await flights.run(derived, compute, persist);
    expect(late.coalesced).toBe(true);
    write.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(flights.has(derived.key)).toBe(false);
    expect(compute).toHaveBeenCalledTimes(1);
  });

  it('a failed compute fails every waiter and ends the flight', async () => {
    const flights = new Flights(new Recorder(undefined, undefined, undefined, undefined), undefined);
    const compute = async () => {
      throw new Error('provider down');
    };
    const runs = [flights.run(derived, compute, () => undefined), flights.run(derived, compute, () => undefined)];
    for (const run of runs) await expect(run).rejects.toThrow('provider down');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(flights.has(derived.key)).toBe(false);
  });

  it("with a cross-process lock: another process's entry is a hit for all; our own lock is released after the write", async () => {
    const entry = { body: { text: 'theirs' }, createdAt: Date.now() - 50 } as Envelope<unknown>;
    const waiting: CrossProcessLock = async <T>() => ({ entry: entry as Envelope<T> });
    const flights = new Flights(new Recorder(undefined, undefined, undefined, undefined), waiting);
    const compute = vi.fn(async () => ({ text: 'ours' }));
    const [leader, follower] = await Promise.all([
      flights.run(derived, compute, () => undefined),
      flights.run(derived, compute, () => undefined),
    ]);
    expect(compute).not.toHaveBeenCalled();
    expect(leader).toMatchObject({ value: { text: 'theirs' }, hit: true, coalesced: true });
    expect(leader.age).toBeGreaterThanOrEqual(50);
    expect(follower).toMatchObject({ value: { text: 'theirs' }, hit: true, coalesced: true });

    const release = vi.fn();
    const holding: CrossProcessLock = async () => ({ release });
    const write = deferred();
    const own = new Flights(new Recorder(undefined, undefined, undefined, undefined), holding);
    const result = await own.run(derived, compute, (_value, done) => {
      write.promise.then(done);
      return undefined;
    });
    expect(result).toMatchObject({ value: { text: 'ours' }, hit: false, coalesced: false });
    expect(release).not.toHaveBeenCalled();
    write.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(release).toHaveBeenCalledTimes(1);
  });
});
