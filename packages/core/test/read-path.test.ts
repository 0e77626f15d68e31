import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveEncryption } from '../src/encryption.js';
import type { ResolvedCallOptions } from '../src/options.js';
import { createMemoryStore } from '../src/stores/memory.js';
import { CorruptStoredValue } from '../src/stores/store.js';
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

/** Stores `value` for `text` as if written `ageMs` ago with the given ttl and stale window. */
async function seed(
  p: ReturnType<typeof parts>,
  text: string,
  value: unknown,
  { ageMs = 0, ttl = 60_000, keep = 0 }: { ageMs?: number; ttl?: number; keep?: number } = {},
) {
  const derived = p.derive(request(text));
  const prepared = p.writes.prepare(derived, request(text), value, { ...call, ttl, staleIfError: keep }, undefined)!;
  prepared.meta.createdAt -= ageMs;
  prepared.meta.expiresAt! -= ageMs;
  if (prepared.meta.staleUntil !== undefined) prepared.meta.staleUntil -= ageMs;
  await p.store.set(derived.key, await p.codec.serialize(prepared.meta, prepared.bodyJson, derived.key), undefined);
  return derived;
}

describe('ReadPath', () => {
  it('uses the defaults object itself when a call overrides nothing, and validates overrides', () => {
    const { reads, config } = parts();
    expect(reads.resolveCall({})).toBe(config.defaults);
    expect(reads.resolveCall({ ttl: '1m' }).ttl).toBe(60_000);
    expect(() => reads.resolveCall({ mode: 'sometimes' as never })).toThrow(/mode must be one of/);
  });

  it('hit: a fresh entry is served and recorded', async () => {
    const p = parts();
    await seed(p, 'a', 'answer');
    const begun = await p.reads.begin<string>(request('a'), {});
    expect(begun).toMatchObject({ type: 'hit', result: { value: 'answer', hit: true, stale: false } });
    expect(p.recorder.snapshot(undefined).hits).toBe(1);
  });

  it('miss: absent, with the reason; refresh skips the read', async () => {
    const p = parts();
    await seed(p, 'a', 'answer');
    const misses: string[] = [];
    p.recorder.events.on('miss', (event) => misses.push(event.reason));
    expect(await p.reads.begin(request('b'), {})).toMatchObject({ type: 'miss' });
    expect(await p.reads.begin(request('a'), { mode: 'refresh' })).toMatchObject({ type: 'miss' });
    expect(misses).toEqual(['absent', 'refresh']);
  });

  it('stale-while-revalidate: an expired entry inside the window is served stale with a refresh to run', async () => {
    const p = parts();
    await seed(p, 'a', 'old', { ageMs: 70_000, keep: 60_000 });
    const begun = await p.reads.begin<string>(request('a'), { staleWhileRevalidate: '1m' });
    expect(begun).toMatchObject({ type: 'hit', result: { value: 'old', stale: true }, revalidate: { call: {} } });
    const without = await p.reads.begin<string>(request('a'), { staleWhileRevalidate: '1m' }, false);
    expect(without.type).toBe('miss');
  });

  it('stale-if-error: the expired entry rides along with the miss, and only a transient error may use it', async () => {
    const p = parts();
    await seed(p, 'a', 'old', { ageMs: 70_000, keep: 60_000 });
    const begun = await p.reads.begin<string>(request('a'), { staleIfError: '1m' });
    expect(begun).toMatchObject({ type: 'miss', stale: { body: 'old' } });
    expect(p.reads.staleFallback(begun, request('a'), new Error('bad request'))).toBeUndefined();
    const served = p.reads.staleFallback(begun, request('a'), Object.assign(new Error('busy'), { statusCode: 503 }));
    expect(served).toMatchObject({ value: 'old', stale: true, hit: true });
    expect(p.events.errors.at(-1)).toMatchObject({ operation: 'compute' });
    const outside = await p.reads.begin<string>(request('a'), { staleIfError: '5s' });
    expect(outside).toMatchObject({ type: 'miss' });
    expect((outside as { stale?: unknown }).stale).toBeUndefined();
  });

  it('replay: serves an expired entry still in the store, and throws CACHE_MISS on an absent one', async () => {
    const p = parts();
    await seed(p, 'a', 'old', { ageMs: 70_000, keep: 60_000 });
    const begun = await p.reads.begin<string>(request('a'), { mode: 'replay' });
    expect(begun).toMatchObject({ type: 'hit', result: { value: 'old', stale: true } });
    expect((begun as { revalidate?: unknown }).revalidate).toBeUndefined();
    await expect(p.reads.begin(request('b'), { mode: 'replay' })).rejects.toMatchObject({ code: 'CACHE_MISS' });
  });

  it("bypass: mode 'off', a closed cache, or a request that cannot be keyed", async () => {
    const p = parts();
    expect(await p.reads.begin(request('a'), { mode: 'off' })).toEqual({ type: 'bypass' });
    const unkeyable = { ...request('a'), params: { fn: () => 1 } };
    expect(await p.reads.begin(unkeyable, {})).toEqual({ type: 'bypass' });
    expect(p.events.skips.at(-1)).toMatchObject({ code: 'UNSERIALIZABLE_REQUEST' });
    await expect(p.reads.begin(unkeyable, { mode: 'replay' })).rejects.toMatchObject({ code: 'CACHE_MISS' });
    p.close();
    expect(await p.reads.begin(request('a'), {})).toEqual({ type: 'bypass' });
    expect(p.events.skips.at(-1)).toMatchObject({ code: 'CLOSED' });
    expect(p.recorder.snapshot(undefined).bypasses).toBe(3);
  });

  it('a corrupt entry is reported, deleted and read as a miss', async () => {
    const p = parts();
    const derived = p.derive(request('a'));
    await p.store.set(derived.key, '{"not":"an entry"}', undefined);
    expect(await p.reads.readStored(derived)).toEqual({ reason: 'error' });
    expect(p.events.errors[0]).toMatchObject({ operation: 'decode', error: { code: 'CORRUPT_ENTRY' } });
    await p.writes.drain();
    expect(await p.store.get(derived.key)).toBeUndefined();
  });

  it('a value the store itself calls corrupt is reported and deleted too', async () => {
    const stub = new StubStore();
    const p = parts({ store: stub.asStore() });
    const derived = p.derive(request('a'));
    stub.get = async () => {
      throw new CorruptStoredValue('truncated');
    };
    expect(await p.reads.readStored(derived)).toEqual({ reason: 'error' });
    expect(p.events.errors[0]!.error.message).toMatch(/not an llmemo entry \(truncated\)/);
    await p.writes.drain();
    expect(stub.calls).toContain('delete');
  });

  it('an entry sealed with a key this cache does not hold is left in place (another deployment may read it)', async () => {
    const store = createMemoryStore();
    const writer = parts({ store, keyring: resolveEncryption({ key: randomBytes(32) }, {}) });
    const derived = await seed(writer, 'a', 'secret');
    const reader = parts({ store, keyring: resolveEncryption({ key: randomBytes(32) }, {}) });
    expect(await reader.reads.readStored(derived)).toEqual({ reason: 'error' });
    expect(reader.events.errors[0]).toMatchObject({ operation: 'decrypt', error: { code: 'DECRYPT_FAILED' } });
    await reader.writes.drain();
    expect(await store.get(derived.key)).toBeDefined();
  });

  it('a store failure is a miss with reason error; an open breaker one with reason circuit-open', async () => {
    const stub = new StubStore();
    const p = parts({ store: stub.asStore() });
    const derived = p.derive(request('a'));
    stub.mode = 'fail';
    for (let i = 0; i < 5; i++) expect(await p.reads.readStored(derived)).toEqual({ reason: 'error' });
    expect(await p.reads.readStored(derived)).toEqual({ reason: 'circuit-open' });
    expect(stub.calls.filter((name) => name === 'get')).toHaveLength(5);
  });
});
