// cache.prepare(request): a handle whose key the issuing cache derived once. These tests try to get a key honoured
// where it does not belong (another cache on the same store, another namespace or encryption key, another store, a
// custom key function's other tenant, a forged handle), counting compute calls: each compute answers uniquely.
import { storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CacheOptions,
  type CacheRequest,
  createCache,
  PreparedRequest,
  type ResponseCache,
  type SkipEvent,
} from '../src/index.js';

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function open(options: CacheOptions = {}): ResponseCache {
  const cache = createCache({ persistStats: false, timeoutMs: 5000, namespace: uniqueNamespace('prep'), ...options });
  caches.push(cache);
  return cache;
}

const chat = (content: string, model = 'gpt-4o'): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model,
  input: [{ role: 'user', content }],
});

describe('cache.prepare', () => {
  it('the issuing cache honours the key it derived: the same entry as the plain request, in every call', async () => {
    const cache = open();
    const { compute, calls } = counting();
    const request = chat('hello');
    const handle = cache.prepare(request);
    expect(handle.request).toBe(request);
    expect(cache.key(handle)).toBe(cache.key(request));
    const first = await cache.getOrCompute(handle, compute);
    expect(first).toMatchObject({ hit: false, key: cache.key(request) });
    expect(await cache.getOrCompute(request, compute)).toMatchObject({ hit: true, value: first.value });
    expect(await cache.lookup(handle)).toMatchObject({ hit: true, value: first.value });
    expect(await cache.set(handle, 'replaced')).toBe(true);
    expect(await cache.get(request)).toBe('replaced');
    expect(await cache.delete(handle)).toBe(true);
    expect(await cache.get(handle)).toBeUndefined();
    expect(calls()).toBe(1);
  });

  it('a handle is its key as derived when prepared: changing the request afterwards does not re-key it', async () => {
    // The probe the other tests use: a key derived afresh follows the (changed) request, an honoured one does not.
    const cache = open();
    const request = chat('before');
    const handle = cache.prepare(request);
    const before = cache.key(chat('before'));
    request.input = [{ role: 'user', content: 'after' }];
    expect(cache.key(handle)).toBe(before);
  });

  it.each(['sqlite', 'redis'] as const)(
    'on one %s store, another cache (namespace, encryption key, or none) never honours the handle',
    async (kind) => {
      const store = storeUrl(kind);
      const key = 'a'.repeat(64);
      const owner = open({ store, encryption: { key } });
      const others = [
        open({ store, encryption: { key } }),
        open({ store, namespace: owner.namespace, encryption: { key: 'b'.repeat(64) } }),
        open({ store, namespace: owner.namespace, encryption: false }),
      ];
      const { compute, calls } = counting();
      const request = chat('tenant secret');
      const handle = owner.prepare(request);
      await owner.getOrCompute(handle, compute);
      for (const other of others) {
        const result = await other.getOrCompute(handle, compute);
        expect(result).toMatchObject({ hit: false, key: other.key(request) });
        expect(result.key).not.toBe(owner.key(request));
      }
      expect(calls()).toBe(1 + others.length);
      // The probe: after the request changes, another cache keys what it now says.
      request.input = [{ role: 'user', content: 'changed' }];
      expect(others[0]!.key(handle)).toBe(others[0]!.key(chat('changed')));
    },
  );

  it('a call under another namespace keys the request afresh in that namespace', async () => {
    const cache = open();
    const { compute, calls } = counting();
    const handle = cache.prepare(chat('hi'));
    const mine = await cache.getOrCompute(handle, compute);
    const theirs = await cache.getOrCompute(handle, compute, { namespace: 'elsewhere' });
    expect(theirs).toMatchObject({ hit: false, key: cache.key(chat('hi'), { namespace: 'elsewhere' }) });
    expect(theirs.value).not.toBe(mine.value);
    expect(await cache.set(handle, 'other', { namespace: 'elsewhere' })).toBe(true);
    expect(await cache.get(chat('hi'))).toBe(mine.value);
    expect(cache.key(handle, { namespace: 'elsewhere' })).toBe(cache.key(chat('hi'), { namespace: 'elsewhere' }));
    expect(calls()).toBe(2);
  });

  it('after useStore, a handle prepared before is keyed afresh, and reads and writes the new store', async () => {
    const cache = open({ store: storeUrl('sqlite') });
    const { compute, calls } = counting();
    const request = chat('swap');
    const handle = cache.prepare(request);
    const before = await cache.getOrCompute(handle, compute);
    await cache.useStore(storeUrl('sqlite'));
    const after = await cache.getOrCompute(handle, compute);
    expect(after).toMatchObject({ hit: false });
    expect(after.value).not.toBe(before.value);
    expect(await cache.getOrCompute(handle, compute)).toMatchObject({ hit: true, value: after.value });
    expect(calls()).toBe(2);
    request.input = [{ role: 'user', content: 'changed' }];
    expect(cache.key(handle)).toBe(cache.key(chat('changed')));
    expect(cache.key(cache.prepare(request))).toBe(cache.key(chat('changed')));
  });

  it('under a custom key function (which may read per-call state) the key is derived on every call', async () => {
    let tenant = 'a';
    const cache = open({ key: (request) => `${tenant}:${JSON.stringify(request.input)}` });
    const { compute, calls } = counting();
    const handle = cache.prepare(chat('whose?'));
    const a = await cache.getOrCompute(handle, compute);
    tenant = 'b';
    const b = await cache.getOrCompute(handle, compute);
    expect(b).toMatchObject({ hit: false });
    expect(b.value).not.toBe(a.value);
    tenant = 'a';
    expect(await cache.getOrCompute(handle, compute)).toMatchObject({ hit: true, value: a.value });
    expect(calls()).toBe(2);
  });

  it('an unkeyable request gets a handle that bypasses like it, with a skip event on every call', async () => {
    const cache = open();
    const skips: SkipEvent[] = [];
    cache.on('skip', (event) => skips.push(event));
    const { compute, calls } = counting();
    const handle = cache.prepare({ ...chat('x'), model: 'bad\ud800model' });
    expect(() => cache.key(handle)).toThrow(/well-formed/);
    await cache.getOrCompute(handle, compute);
    await cache.getOrCompute(handle, compute);
    expect(calls()).toBe(2);
    expect(skips.map((event) => event.code)).toEqual(['UNSERIALIZABLE_REQUEST', 'UNSERIALIZABLE_REQUEST']);
  });

  it('nothing but a cache makes a handle: imitations are plain (unkeyable) requests, never a key', async () => {
    const cache = open();
    const { compute, calls } = counting();
    const real = cache.prepare(chat('target'));
    await cache.getOrCompute(real, compute);
    const forged = [
      Object.create(PreparedRequest.prototype),
      { request: chat('other'), derived: { key: cache.key(chat('target')), namespace: cache.namespace } },
      { ...real },
    ];
    for (const fake of forged) {
      expect(PreparedRequest.is(fake)).toBe(false);
      expect(await cache.getOrCompute(fake, compute)).toMatchObject({ hit: false });
    }
    expect(calls()).toBe(1 + forged.length);
    expect(cache.stats().writes).toBe(1);
  });
});

/** A compute whose every answer is new, and how many times it ran. */
function counting() {
  let calls = 0;
  return { compute: async () => `answer ${++calls}`, calls: () => calls };
}
