import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type CacheRequest, createCache, type ResponseCache } from '../src/index.js';

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close().catch(() => {})));
});

function request(input: string): CacheRequest {
  return { kind: 'chat', provider: 'test', model: 'm', input };
}

/** How long `useStore('memory://')` took, with the default drain timeout unless one is given. */
async function swapMs(cache: ResponseCache, drainTimeout?: number): Promise<number> {
  const started = performance.now();
  await cache.useStore('memory://', drainTimeout === undefined ? {} : { drainTimeout });
  return performance.now() - started;
}

describe.each(STORE_KINDS)('a missed lookup ended by release() on %s', (kind) => {
  const url = storeUrl(kind);
  const make = () => {
    const cache = createCache({ store: url, namespace: uniqueNamespace(kind), timeoutMs: 2000 });
    caches.push(cache);
    return cache;
  };

  it('holds the store it was read from until it is ended (the hold release() lets go of)', async () => {
    const cache = make();
    const miss = await cache.lookup<string>(request('held'));
    expect(miss.hit).toBe(false);
    expect(await swapMs(cache, 300)).toBeGreaterThanOrEqual(250);
  });

  it('ends the lookup: useStore does not wait, nothing is written, no event fires', { timeout: 10_000 }, async () => {
    const cache = make();
    const events: string[] = [];
    for (const name of ['write', 'skip', 'error'] as const) cache.on(name, () => events.push(name));
    const miss = await cache.lookup<string>(request('released'));
    if (miss.hit) throw new Error('expected a miss');
    miss.release();
    miss.release();
    expect(await swapMs(cache)).toBeLessThan(2000);
    expect(await miss.commit('late')).toBe(false);
    miss.skip('late');
    await cache.flush();
    expect(events).toEqual([]);
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 0 });
  });

  it('a commit after release() writes nothing, in the store it was read from either', async () => {
    const cache = make();
    const miss = await cache.lookup<string>(request('no write'));
    if (miss.hit) throw new Error('expected a miss');
    miss.release();
    expect(await miss.commit('late')).toBe(false);
    await cache.flush();
    expect(await cache.get(request('no write'))).toBeUndefined();
  });

  it('release() after a commit changes nothing: the value stays written', async () => {
    const cache = make();
    const miss = await cache.lookup<string>(request('committed'));
    if (miss.hit) throw new Error('expected a miss');
    expect(await miss.commit('value')).toBe(true);
    miss.release();
    expect(await cache.lookup<string>(request('committed'))).toMatchObject({ hit: true, value: 'value' });
  });
});

it('a bypassed lookup has a release() that does nothing', async () => {
  const cache = createCache({ store: 'memory://' });
  caches.push(cache);
  const bypass = await cache.lookup<string>(request('off'), { mode: 'off' });
  if (bypass.hit) throw new Error('expected a miss');
  expect(bypass.key).toBeUndefined();
  bypass.release();
  expect(await bypass.commit('x')).toBe(false);
});
