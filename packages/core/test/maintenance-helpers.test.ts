import { describe, expect, it, vi } from 'vitest';
import { EntryCodec } from '../src/entry-codec.js';
import { everyWhileAlive, inspectEntry, pruneStore } from '../src/maintenance.js';
import { createMemoryStore } from '../src/stores/memory.js';
import { parts, request } from './helpers/parts.js';
import { StubStore } from './helpers/stub-store.js';

describe('maintenance helpers', () => {
  it('inspectEntry: metadata and value of a stored entry, undefined when absent, and never a change to the store', async () => {
    const p = parts();
    const derived = p.derive(request('a'));
    const prepared = p.writes.prepare(derived, request('a'), { text: 'hi' }, p.config.defaults, undefined)!;
    await p.writes.write(derived, prepared, 60_000);
    const inspected = await inspectEntry(p.store, p.codec, derived.key);
    expect(inspected).toMatchObject({ value: { text: 'hi' }, info: { key: derived.key, model: 'm', expired: false } });
    expect(await inspectEntry(p.store, p.codec, `${derived.key}0`)).toBeUndefined();
  });

  it('inspectEntry: a body it cannot decode comes back as an error beside the metadata', async () => {
    const p = parts();
    const derived = p.derive(request('a'));
    const prepared = p.writes.prepare(derived, request('a'), 'x', p.config.defaults, undefined)!;
    const text = await p.codec.serialize(prepared.meta, prepared.bodyJson, derived.key);
    await p.store.set(derived.key, text.replace('"body":"x"', '"enc":{"z":"gzip"},"body":"!!"'), undefined);
    const inspected = await inspectEntry(p.store, new EntryCodec(undefined, undefined), derived.key);
    expect(inspected?.info.compressed).toBe('gzip');
    expect(inspected?.error?.code).toBe('CORRUPT_ENTRY');
  });

  it('pruneStore turns a store failure into STORE_UNAVAILABLE', async () => {
    const stub = new StubStore();
    Object.assign(stub, {
      ready: async () => {},
      prune: async () => {
        throw new Error('disk full');
      },
    });
    await expect(pruneStore(stub.asStore())).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('disk full'),
    });
    expect(await pruneStore(createMemoryStore())).toBe(0);
  });

  it('everyWhileAlive ticks with the target and stops once the target is gone', () => {
    vi.useFakeTimers();
    try {
      const tick = vi.fn();
      const target = { name: 'cache' };
      const timer = everyWhileAlive(target, 100, tick);
      vi.advanceTimersByTime(250);
      expect(tick).toHaveBeenCalledTimes(2);
      expect(tick).toHaveBeenCalledWith(target);
      clearInterval(timer);
    } finally {
      vi.useRealTimers();
    }
  });
});
