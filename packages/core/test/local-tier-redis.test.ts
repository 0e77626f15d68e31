import KeyvRedis, { createClient } from '@keyv/redis';
import { type RedisServer, redisUrl, startRedisServer, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheRequest, createCache, RedisStore, type ResponseCache } from '../src/index.js';

const req = (text: string): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: text });
const KEY_B64 = Buffer.alloc(32, 7).toString('base64');

function tierOf(cache: ResponseCache): NonNullable<RedisStore['localTier']> {
  const store = cache.store;
  if (!(store instanceof RedisStore) || store.localTier === undefined) throw new Error('no local tier');
  return store.localTier;
}

/** Polls until `check` holds (an invalidation travels asynchronously); fails loudly after 5 s. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Two caches on one Redis, each with its own connections: what two app servers see. */
async function pair(options: Parameters<typeof createCache>[0] = {}) {
  const namespace = uniqueNamespace('tier');
  const writer = createCache({ store: redisUrl(), namespace, timeoutMs: 2000, ...options });
  const reader = createCache({ store: redisUrl(), namespace, timeoutMs: 2000, local: true, ...options });
  return { writer, reader, close: () => Promise.all([writer.close(), reader.close()]) };
}

describe('local tier on a shared Redis', () => {
  it('serves a read entry from memory, and drops it when another connection overwrites it', async () => {
    const { writer, reader, close } = await pair();
    try {
      await writer.set(req('q'), 'v1');
      expect(await reader.get(req('q'))).toBe('v1');
      expect(tierOf(reader).size).toBe(1);
      await writer.set(req('q'), 'v2');
      await until(() => tierOf(reader).size === 0);
      expect(await reader.get(req('q'))).toBe('v2');
    } finally {
      await close();
    }
  });

  it("drops a key at once on this process's own set, delete and purge", async () => {
    const { reader, close } = await pair();
    try {
      await reader.set(req('q'), 'v1');
      expect(await reader.get(req('q'))).toBe('v1');
      await reader.set(req('q'), 'v2');
      expect(await reader.get(req('q'))).toBe('v2');
      await reader.delete(req('q'));
      expect(await reader.get(req('q'))).toBeUndefined();
      await reader.set(req('q'), 'v3');
      expect(await reader.get(req('q'))).toBe('v3');
      expect(await reader.purge({ namespace: reader.namespace })).toBe(1);
      expect(await reader.get(req('q'))).toBeUndefined();
    } finally {
      await close();
    }
  });

  it('drops entries on delete, refresh and purge made by another process', async () => {
    const { writer, reader, close } = await pair();
    try {
      await writer.set(req('a'), 'a1');
      await writer.set(req('b'), 'b1');
      expect(await reader.get(req('a'))).toBe('a1');
      expect(await reader.get(req('b'))).toBe('b1');
      await writer.delete(req('a'));
      await until(async () => (await reader.get(req('a'))) === undefined);
      await writer.getOrCompute(req('b'), async () => 'b2', { mode: 'refresh' });
      await writer.flush();
      await until(async () => (await reader.get(req('b'))) === 'b2');
      expect(await reader.get(req('b'))).toBe('b2');
      await writer.purge({ namespace: writer.namespace });
      await until(async () => (await reader.get(req('b'))) === undefined);
    } finally {
      await close();
    }
  });

  it('holds what Redis holds: encrypted, compressed entries still decode, and expire on their stored expiry', async () => {
    const { writer, reader, close } = await pair({
      encryption: { key: KEY_B64 },
      compression: { algorithm: 'gzip', threshold: 1 },
    });
    try {
      const long = 'x'.repeat(5000);
      await writer.set(req('q'), long, { ttl: 300 });
      expect(await reader.get(req('q'))).toBe(long);
      expect(await reader.get(req('q'))).toBe(long);
      expect(tierOf(reader).size).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await reader.get(req('q'))).toBeUndefined();
    } finally {
      await close();
    }
  });

  it('serves stale-while-revalidate from the tier as it would from Redis', async () => {
    const namespace = uniqueNamespace('tier-swr');
    const cache = createCache({ store: redisUrl(), namespace, local: true, staleWhileRevalidate: '10s' });
    try {
      // 400 ms, not less: on a loaded machine the set and the first get can take longer than a shorter TTL.
      await cache.set(req('q'), 'old', { ttl: 400 });
      expect(await cache.get(req('q'))).toBe('old');
      expect(tierOf(cache).size).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 450));
      const result = await cache.getOrCompute(req('q'), async () => 'new');
      expect(result).toMatchObject({ hit: true, stale: true, value: 'old' });
      await cache.flush();
      await until(async () => (await cache.get(req('q'))) === 'new');
    } finally {
      await cache.close();
    }
  });

  it('never keeps a reply that raced an invalidation', async () => {
    const { writer, reader, close } = await pair();
    try {
      // Many overlapping reads and writes: whatever was in flight, the last answer after the dust settles is
      // the last write, and the tier agrees with Redis.
      for (let round = 0; round < 20; round++) {
        const reads = Array.from({ length: 10 }, () => reader.get(req('q')));
        await writer.set(req('q'), `v${round}`);
        await Promise.all(reads);
        await until(async () => (await reader.get(req('q'))) === `v${round}`);
      }
    } finally {
      await close();
    }
  });
});

describe('local tier across a Redis restart', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('empties the tier when the connection drops, and never serves what the restarted server lost', async () => {
    const namespace = uniqueNamespace('tier-restart');
    const cache = createCache({ store: server.url, namespace, local: true, timeoutMs: 500, breaker: false });
    const errors: unknown[] = [];
    cache.on('error', (event) => errors.push(event));
    try {
      await cache.set(req('q'), 'before');
      expect(await cache.get(req('q'))).toBe('before');
      expect(tierOf(cache).size).toBe(1);
      await server.restart();
      await until(() => tierOf(cache).size === 0);
      // The restarted server is empty (no persistence): the old value must not come back from memory.
      // (Until the tier's own connection is back, reads fail open: undefined, with an error event.)
      let written = false;
      await until(async () => {
        const value = await cache.get(req('q'));
        expect(value).not.toBe('before');
        written ||= (await cache.set(req('q'), 'after')) === true;
        return written && value === 'after';
      });
    } finally {
      await cache.close();
    }
  });

  it('empties the tier when the server is flushed (FLUSHALL: one invalidation for every key)', async () => {
    const namespace = uniqueNamespace('tier-flushall');
    const cache = createCache({ store: server.url, namespace, local: true, timeoutMs: 2000 });
    const admin = createClient({ url: server.url });
    await admin.connect();
    try {
      await cache.set(req('a'), 'a');
      await cache.set(req('b'), 'b');
      expect([await cache.get(req('a')), await cache.get(req('b'))]).toEqual(['a', 'b']);
      expect(tierOf(cache).size).toBe(2);
      await admin.flushAll();
      await until(() => tierOf(cache).size === 0);
      expect([await cache.get(req('a')), await cache.get(req('b'))]).toEqual([undefined, undefined]);
    } finally {
      await admin.close();
      await cache.close();
    }
  });

  it('stops serving from memory while the connection is silent (no reset, no replies), and resumes after', async () => {
    const namespace = uniqueNamespace('tier-silent');
    const cache = createCache({ store: server.url, namespace, local: true, timeoutMs: 200, breaker: false });
    cache.on('error', () => {});
    const admin = createClient({ url: server.url });
    await admin.connect();
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    const store = cache.store as RedisStore;
    const key = cache.key(req('q'));
    try {
      await cache.set(req('q'), 'v');
      expect(await cache.get(req('q'))).toBe('v');
      expect(store.cached(key)).toBeDefined();
      // SIGSTOP: the sockets stay open but nothing answers, as in a network partition without a reset.
      process.kill(pid, 'SIGSTOP');
      try {
        await until(() => store.cached(key) === undefined);
        expect(await cache.get(req('q'))).toBeUndefined();
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await until(async () => (await cache.get(req('q'))) === 'v' && store.cached(key) !== undefined);
    } finally {
      await admin.close();
      await cache.close();
    }
  });

  it('fails open while Redis is down from the start, and tiers once it is up', async () => {
    const namespace = uniqueNamespace('tier-late');
    await server.kill();
    const cache = createCache({ store: server.url, namespace, local: true, timeoutMs: 300, breaker: false });
    const errors: unknown[] = [];
    cache.on('error', (event) => errors.push(event));
    try {
      expect(await cache.getOrCompute(req('q'), async () => 'computed')).toMatchObject({ value: 'computed' });
      expect(errors.length).toBeGreaterThan(0);
      expect(tierOf(cache).size).toBe(0);
      await server.restart();
      await until(async () => (await cache.set(req('q'), 'stored')) === true);
      await until(async () => (await cache.get(req('q'))) === 'stored' && tierOf(cache).size === 1);
    } finally {
      await cache.close();
    }
  });
});

describe('local option', () => {
  it('is validated at construction, with the reason a store cannot take it', () => {
    expect(() => createCache({ store: redisUrl(), local: 'yes' as never })).toThrow(/local must be/);
    expect(() => createCache({ store: redisUrl(), local: { maxEntries: 0 } })).toThrow(/local.maxEntries/);
    expect(() => createCache({ store: redisUrl(), local: { max: 1 } as never })).toThrow(/no option 'max'/);
    expect(() => createCache({ local: true })).toThrow(/memory:\/\/ store already lives in this process/);
    expect(() => createCache({ store: 'sqlite://:memory:', local: true })).toThrow(/PRAGMA data_version/);
    expect(() => createCache({ store: `file://${tempDir()}`, local: true })).toThrow(
      /file:\/\/ reads are already local/,
    );
    expect(() => createCache({ store: new Map() as never, local: true })).toThrow(/only Redis tells clients/);
    // A @keyv/redis adapter over a client that cannot be duplicated (Sentinel) is refused, not half-served.
    const adapter = new KeyvRedis<string>(createClient({ url: redisUrl() }) as never);
    Object.defineProperty(adapter.client, 'duplicate', { value: undefined });
    expect(() => createCache({ store: adapter, local: true })).toThrow(/cannot open a second, tracking connection/);
    // A client from another copy of @redis/client would take our relay for plain settings and cache on its own.
    const foreign = new KeyvRedis<string>(createClient({ url: redisUrl() }) as never);
    const settingsOnly = { clientSideCache: { maxEntries: 1 }, on() {}, connect: async () => {} };
    Object.defineProperty(foreign.client, 'duplicate', { value: () => settingsOnly });
    expect(() => createCache({ store: foreign, local: true })).toThrow(/another copy of @redis\/client/);
    try {
      createCache({ local: true });
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_OPTIONS' });
    }
  });
});
