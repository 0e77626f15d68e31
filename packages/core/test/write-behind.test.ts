import { describe, expect, it, vi } from 'vitest';
import type { ResolvedCallOptions } from '../src/options.js';
import { parts, request } from './helpers/parts.js';
import { StubStore } from './helpers/stub-store.js';

const call: ResolvedCallOptions = {
  mode: 'read-write',
  ttl: 60_000,
  namespace: 'unit',
  noStore: false,
  staleWhileRevalidate: 0,
  staleIfError: 0,
};

describe('WriteBehind', () => {
  it('prepares an entry whose metadata says where it belongs and how long it may be served stale', () => {
    const { writes, derive } = parts();
    const derived = derive(request('a'));
    const before = Date.now();
    const prepared = writes.prepare(
      derived,
      { ...request('a'), specVersion: 'v3' },
      { text: 'hi' },
      {
        ...call,
        staleIfError: 30_000,
      },
      { usage: { inputTokens: 1, outputTokens: 2 }, responseModel: 'm-2026' },
    )!;
    expect(prepared.meta).toMatchObject({
      kind: 'chat',
      ns: 'unit',
      provider: 'p',
      model: 'm',
      digest: derived.digest,
      specVersion: 'v3',
      responseModel: 'm-2026',
      usage: { inputTokens: 1, outputTokens: 2 },
    });
    expect(prepared.meta.expiresAt! - prepared.meta.createdAt).toBe(60_000);
    expect(prepared.meta.staleUntil! - prepared.meta.createdAt).toBe(90_000);
    expect(prepared.meta.createdAt).toBeGreaterThanOrEqual(before);
    expect(JSON.parse(prepared.bodyJson)).toEqual({ text: 'hi' });
  });

  it('skips a value it cannot encode', () => {
    const { writes, derive, events } = parts();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(writes.prepare(derive(request('a')), request('a'), cyclic, call, undefined)).toBeUndefined();
    expect(events.skips[0]).toMatchObject({ code: 'UNSERIALIZABLE_VALUE' });
  });

  it('writes, counts and announces a stored entry; the read path then finds it', async () => {
    const { writes, reads, derive, events, recorder } = parts();
    const derived = derive(request('a'));
    const prepared = writes.prepare(derived, request('a'), 'answer', call, undefined)!;
    expect(await writes.write(derived, prepared, call.ttl)).toBe(true);
    expect(events.writes).toEqual([expect.objectContaining({ key: derived.key, ttl: 60_000 })]);
    expect(recorder.snapshot(undefined).writes).toBe(1);
    expect((await reads.readStored(derived)).entry?.body).toBe('answer');
  });

  it('skips an entry over maxEntryBytes, and every write once sealed', async () => {
    const { writes, derive, events, store } = parts({ maxEntryBytes: 200 });
    const derived = derive(request('a'));
    const big = writes.prepare(derived, request('a'), 'x'.repeat(500), call, undefined)!;
    expect(await writes.write(derived, big, call.ttl)).toBe(false);
    expect(events.skips[0]).toMatchObject({ code: 'ENTRY_TOO_LARGE', key: derived.key });
    writes.seal();
    const small = writes.prepare(derived, request('a'), 'x', call, undefined)!;
    expect(await writes.write(derived, small, call.ttl)).toBe(false);
    expect(await store.get(derived.key)).toBeUndefined();
  });

  it('after a compute: honours cacheable and noStore, returns the encoded body, and calls done once settled', async () => {
    const { writes, derive, events } = parts();
    const derived = derive(request('a'));
    const done = vi.fn();
    expect(writes.afterCompute(derived, request('a'), 'v', call, { cacheable: () => 'partial' }, done)).toBeUndefined();
    expect(events.skips.at(-1)).toMatchObject({ code: 'NOT_CACHEABLE', reason: 'partial' });
    expect(done).toHaveBeenCalledTimes(1);
    expect(writes.afterCompute(derived, request('a'), 'v', { ...call, noStore: true }, {}, done)).toBe('"v"');
    expect(events.skips.at(-1)).toMatchObject({ code: 'NO_STORE' });
    expect(done).toHaveBeenCalledTimes(2);
    const metadata = vi.fn(() => ({ responseModel: 'r' }));
    expect(writes.afterCompute(derived, request('a'), 'v', call, { metadata }, done)).toBe('"v"');
    expect(metadata).toHaveBeenCalledWith('v');
    expect(done).toHaveBeenCalledTimes(2);
    await writes.drain();
    expect(done).toHaveBeenCalledTimes(3);
    expect(events.writes).toHaveLength(1);
  });

  it("commit: mode 'read-only' and ttl 0 never write", async () => {
    const { writes, derive, events } = parts();
    const derived = derive(request('a'));
    expect(await writes.commit(derived, request('a'), 'v', { ...call, mode: 'read-only' }, undefined)).toBe(false);
    expect(await writes.commit(derived, request('a'), 'v', { ...call, ttl: 0 }, undefined)).toBe(false);
    expect(events.skips.map((skip) => skip.code)).toEqual(['NO_STORE', 'NO_STORE']);
    expect(await writes.commit(derived, request('a'), 'v', call, undefined)).toBe(true);
  });

  it('drain() waits for writes started while it waits, and a failing store is reported, not thrown', async () => {
    const stub = new StubStore();
    const { writes, derive, events } = parts({ store: stub.asStore() });
    const derived = derive(request('a'));
    stub.mode = 'fail';
    const prepared = writes.prepare(derived, request('a'), 'v', call, undefined)!;
    const first = writes.write(derived, prepared, call.ttl);
    expect(writes.busy).toBe(true);
    first.then(() => writes.discard(derived.key));
    await writes.drain();
    expect(writes.busy).toBe(false);
    expect(events.errors.map((event) => event.operation)).toEqual(['set', 'delete']);
  });
});
