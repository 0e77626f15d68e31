import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CacheRequest, createCache, type ErrorEvent, type ResponseCache, type SkipEvent } from '../src/index.js';

const request = (text: string, extra: Partial<CacheRequest> = {}): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model: 'gpt-4o-mini',
  specVersion: 'v3',
  input: [{ role: 'user', content: [{ type: 'text', text }] }],
  params: { temperature: 0 },
  ...extra,
});

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

// 'redis+local': the same behaviour with the in-process tier in front of Redis.
describe.each([...STORE_KINDS, 'redis+local' as const])('ResponseCache on %s', (variant) => {
  const kind = variant === 'redis+local' ? 'redis' : variant;
  const url = storeUrl(kind);
  const local = variant === 'redis+local';
  function make(options: Parameters<typeof createCache>[0] = {}) {
    const cache = createCache({ store: url, namespace: uniqueNamespace(kind), timeoutMs: 2000, local, ...options });
    caches.push(cache);
    return cache;
  }

  it('misses, computes once, then hits without computing', async () => {
    const cache = make();
    const compute = vi.fn(async () => ({
      text: 'hello',
      at: new Date('2026-01-01T00:00:00Z'),
      bytes: Uint8Array.from([1, 2]),
    }));
    const first = await cache.getOrCompute(request('hi'), compute);
    expect(first).toMatchObject({ hit: false, stale: false, age: 0 });
    await cache.flush();
    const second = await cache.getOrCompute(request('hi'), compute);
    expect(second.hit).toBe(true);
    expect(second.age).toBeGreaterThanOrEqual(0);
    expect(second.value).toEqual(first.value);
    expect(second.value.at).toBeInstanceOf(Date);
    expect(second.value.bytes).toBeInstanceOf(Uint8Array);
    expect(compute).toHaveBeenCalledTimes(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, writes: 1 });
  });

  it('a call made right after another returned hits, while the first write may still be landing', async () => {
    const cache = make();
    const compute = vi.fn(async () => 'answer');
    // No flush in between: each second call starts as soon as the first returned, as a user's next request does.
    for (let i = 0; i < 20; i++) {
      expect((await cache.getOrCompute(request(`back to back ${i}`), compute)).hit).toBe(false);
      const again = await cache.getOrCompute(request(`back to back ${i}`), compute);
      expect(again).toMatchObject({ hit: true, coalesced: false, value: 'answer' });
    }
    expect(compute).toHaveBeenCalledTimes(20);
    expect(cache.stats()).toMatchObject({ hits: 20, misses: 20, coalesced: 0 });
  });

  it('get, set and delete work directly', async () => {
    const cache = make();
    expect(await cache.get(request('direct'))).toBeUndefined();
    expect(
      await cache.set(request('direct'), { answer: 42 }, { metadata: { usage: { inputTokens: 3, outputTokens: 5 } } }),
    ).toBe(true);
    const entry = await cache.getEntry<{ answer: number }>(request('direct'));
    expect(entry?.value).toEqual({ answer: 42 });
    expect(entry?.metadata.usage).toEqual({ inputTokens: 3, outputTokens: 5 });
    expect(cache.stats().tokensSaved).toEqual({ input: 3, output: 5 });
    expect(await cache.delete(request('direct'))).toBe(true);
    expect(await cache.get(request('direct'))).toBeUndefined();
  });

  it('keeps namespaces apart', async () => {
    const cache = make();
    await cache.set(request('ns'), 'for a', { namespace: 'tenant-a' });
    expect(await cache.get(request('ns'), { namespace: 'tenant-a' })).toBe('for a');
    expect(await cache.get(request('ns'), { namespace: 'tenant-b' })).toBeUndefined();
  });

  it('expires entries after their ttl', async () => {
    const cache = make({ ttl: 150 });
    await cache.set(request('short'), 'soon gone');
    expect(await cache.get(request('short'))).toBe('soon gone');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await cache.get(request('short'))).toBeUndefined();
    const compute = vi.fn(async () => 'again');
    const result = await cache.getOrCompute(request('short'), compute);
    expect(result.hit).toBe(false);
    expect(compute).toHaveBeenCalledTimes(1);
  });

  it('per-call ttl overrides the default, and ttl: null never expires', async () => {
    const cache = make({ ttl: '7d' });
    await cache.set(request('per-call'), 'x', { ttl: 100 });
    await cache.set(request('forever'), 'y', { ttl: null });
    const entry = await cache.getEntry(request('forever'));
    expect(entry?.expiresAt).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await cache.get(request('per-call'))).toBeUndefined();
    expect(await cache.get(request('forever'))).toBe('y');
  });

  it("mode 'replay' throws CACHE_MISS on a miss without computing, and serves hits", async () => {
    const cache = make({ mode: 'replay' });
    const compute = vi.fn(async () => 'never');
    await expect(cache.getOrCompute(request('replay'), compute)).rejects.toMatchObject({ code: 'CACHE_MISS' });
    expect(compute).not.toHaveBeenCalled();
    await cache.set(request('replay'), 'recorded');
    expect((await cache.getOrCompute(request('replay'), compute)).value).toBe('recorded');
  });

  it("mode 'refresh' recomputes and overwrites", async () => {
    const cache = make();
    await cache.set(request('refresh'), 'old');
    const result = await cache.getOrCompute(request('refresh'), async () => 'new', { mode: 'refresh' });
    expect(result).toMatchObject({ value: 'new', hit: false });
    await cache.flush();
    expect(await cache.get(request('refresh'))).toBe('new');
  });

  it("mode 'read-only' reads but never writes", async () => {
    const cache = make({ mode: 'read-only' });
    await cache.getOrCompute(request('ro'), async () => 'computed');
    await cache.flush();
    expect(await cache.get(request('ro'))).toBeUndefined();
    await cache.set(request('ro2'), 'seeded');
    expect((await cache.getOrCompute(request('ro2'), async () => 'other')).value).toBe('seeded');
  });

  it("mode 'off' neither reads nor writes", async () => {
    const cache = make();
    await cache.set(request('off'), 'stored');
    const compute = vi.fn(async () => 'fresh');
    const result = await cache.getOrCompute(request('off'), compute, { mode: 'off' });
    expect(result).toMatchObject({ value: 'fresh', hit: false });
    await cache.flush();
    expect(await cache.get(request('off'))).toBe('stored');
    expect(cache.stats().bypasses).toBe(1);
  });

  it('noStore computes without writing', async () => {
    const cache = make();
    await cache.getOrCompute(request('nostore'), async () => 'x', { noStore: true });
    await cache.flush();
    expect(await cache.get(request('nostore'))).toBeUndefined();
  });

  it('coalesces 100 concurrent identical computations into one', async () => {
    const cache = make();
    let calls = 0;
    const compute = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { text: 'shared' };
    };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => cache.getOrCompute(request('stampede'), compute)),
    );
    expect(calls).toBe(1);
    for (const result of results) expect(result.value).toEqual({ text: 'shared' });
    expect(results.filter((r) => r.coalesced)).toHaveLength(99);
    // Followers get copies: mutating one result cannot change another.
    (results[1]!.value as { text: string }).text = 'mutated';
    expect(results[2]!.value).toEqual({ text: 'shared' });
  });

  it('does not cache a compute that throws; the error reaches the caller unchanged', async () => {
    const cache = make();
    const failure = new Error('provider exploded');
    await expect(cache.getOrCompute(request('throws'), async () => Promise.reject(failure))).rejects.toBe(failure);
    await cache.flush();
    expect(await cache.get(request('throws'))).toBeUndefined();
    const compute = vi.fn(async () => 'recovered');
    expect((await cache.getOrCompute(request('throws'), compute)).hit).toBe(false);
    expect(compute).toHaveBeenCalledTimes(1);
  });

  it('skips values the adapter marks not cacheable', async () => {
    const cache = make();
    const skips: SkipEvent[] = [];
    cache.on('skip', (event) => skips.push(event));
    await cache.getOrCompute(request('not-cacheable'), async () => ({ finishReason: 'error' }), {
      cacheable: (value) => (value.finishReason === 'error' ? 'finish reason was error' : true),
    });
    await cache.flush();
    expect(await cache.get(request('not-cacheable'))).toBeUndefined();
    expect(skips).toEqual([expect.objectContaining({ code: 'NOT_CACHEABLE', reason: 'finish reason was error' })]);
  });

  it('treats a corrupt or foreign value under our key as a miss, deletes it and reports it', async () => {
    const cache = make();
    const errors: ErrorEvent[] = [];
    cache.on('error', (event) => errors.push(event));
    const key = cache.key(request('corrupt'));
    const garbage = ['{not json', JSON.stringify({ hello: 'world' }), JSON.stringify({ v: 99, body: 1 }), ''];
    for (const value of garbage) {
      await cache.store.set(key, value, undefined);
      const compute = vi.fn(async () => 'fresh');
      const result = await cache.getOrCompute(request('corrupt'), compute, { noStore: true });
      expect(result).toMatchObject({ value: 'fresh', hit: false });
      await cache.flush();
      expect(await cache.store.get(key)).toBeUndefined();
    }
    expect(errors.map((e) => e.error.code)).toEqual([
      'CORRUPT_ENTRY',
      'CORRUPT_ENTRY',
      'CORRUPT_ENTRY',
      'CORRUPT_ENTRY',
    ]);
    // An entry written for another request, copied under this key, is detected too.
    await cache.set(request('other'), 'not yours');
    await cache.store.set(key, (await cache.store.get(cache.key(request('other'))))!, undefined);
    expect(await cache.get(request('corrupt'))).toBeUndefined();
    expect(errors.at(-1)?.error.message).toContain('different request');
  });

  it('skips unserializable requests but still computes', async () => {
    const cache = make();
    const skips: SkipEvent[] = [];
    cache.on('skip', (event) => skips.push(event));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const params of [circular, { fn: () => 1 }, { s: Symbol('x') }]) {
      const result = await cache.getOrCompute(request('unkeyable', { params }), async () => 'computed');
      expect(result).toMatchObject({ value: 'computed', hit: false });
      expect(result.key).toBeUndefined();
    }
    expect(skips.map((s) => s.code)).toEqual([
      'UNSERIALIZABLE_REQUEST',
      'UNSERIALIZABLE_REQUEST',
      'UNSERIALIZABLE_REQUEST',
    ]);
  });

  it('does not store values over maxEntryBytes', async () => {
    const cache = make({ maxEntryBytes: 1024 });
    const skips: SkipEvent[] = [];
    cache.on('skip', (event) => skips.push(event));
    const result = await cache.getOrCompute(request('huge'), async () => 'x'.repeat(5000));
    expect(result.value).toHaveLength(5000);
    await cache.flush();
    expect(await cache.get(request('huge'))).toBeUndefined();
    expect(skips).toEqual([expect.objectContaining({ code: 'ENTRY_TOO_LARGE' })]);
  });

  it('emits hit, miss and write events without prompt text', async () => {
    const cache = make();
    const seen: string[] = [];
    cache.on('miss', (e) => seen.push(`miss:${JSON.stringify(e)}`));
    cache.on('write', (e) => seen.push(`write:${JSON.stringify(e)}`));
    cache.on('hit', (e) => seen.push(`hit:${JSON.stringify(e)}`));
    await cache.getOrCompute(request('the secret prompt'), async () => 'answer');
    await cache.flush();
    await cache.getOrCompute(request('the secret prompt'), async () => 'answer');
    expect(seen.map((s) => s.split(':')[0])).toEqual(['miss', 'write', 'hit']);
    expect(seen.join('\n')).not.toContain('secret');
  });
});

it('a read waits for a write of its key still landing on a slow store, so back-to-back calls hit', async () => {
  const entries = new Map<string, unknown>();
  const slowStore = {
    get: async (key: string) => entries.get(key),
    set: async (key: string, value: unknown) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      entries.set(key, value);
      return true;
    },
    delete: async (key: string) => entries.delete(key),
    clear: async () => entries.clear(),
  };
  const cache = createCache({ store: slowStore, timeoutMs: 1000 });
  caches.push(cache);
  const compute = vi.fn(async () => 'answer');
  await cache.getOrCompute(request('slow write'), compute);
  const again = await cache.getOrCompute(request('slow write'), compute);
  expect(again).toMatchObject({ hit: true, coalesced: false, value: 'answer' });
  expect(compute).toHaveBeenCalledTimes(1);
  expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, coalesced: 0 });
});

describe.each(STORE_KINDS)('cache.lookup (two-phase, for streams) on %s', (kind) => {
  const url = storeUrl(kind);
  it('misses, commits the complete value, then hits', async () => {
    const cache = createCache({ store: url, namespace: uniqueNamespace(kind), timeoutMs: 2000 });
    caches.push(cache);
    const miss = await cache.lookup<string[]>(request('stream'));
    expect(miss.hit).toBe(false);
    if (miss.hit) throw new Error('unreachable');
    expect(await miss.commit(['a', 'b'], { metadata: { usage: { inputTokens: 1, outputTokens: 2 } } })).toBe(true);
    expect(await miss.commit(['ignored'])).toBe(false);
    const hit = await cache.lookup<string[]>(request('stream'));
    expect(hit).toMatchObject({ hit: true, value: ['a', 'b'] });
  });

  it('an uncommitted (cancelled or failed) miss stores nothing, and modes apply', async () => {
    const cache = createCache({ store: url, namespace: uniqueNamespace(kind), timeoutMs: 2000 });
    caches.push(cache);
    await cache.lookup(request('abandoned'));
    await cache.flush();
    expect(await cache.get(request('abandoned'))).toBeUndefined();
    await expect(cache.lookup(request('abandoned'), { mode: 'replay' })).rejects.toMatchObject({ code: 'CACHE_MISS' });
    const readOnly = await cache.lookup<string>(request('ro'), { mode: 'read-only' });
    if (readOnly.hit) throw new Error('unreachable');
    expect(await readOnly.commit('x')).toBe(false);
    expect(await cache.get(request('ro'))).toBeUndefined();
  });
});
