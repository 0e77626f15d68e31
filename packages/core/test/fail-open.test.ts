import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type RedisServer, startRedisServer, tempDir, uniqueNamespace } from '@llmemo/test-support';
import Keyv from 'keyv';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CacheRequest, createCache, type ErrorEvent, type ResponseCache } from '../src/index.js';

const request = (text: string): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: text });

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function track(cache: ResponseCache) {
  caches.push(cache);
  const errors: ErrorEvent[] = [];
  cache.on('error', (event) => errors.push(event));
  return errors;
}

async function until(check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met in time');
}

describe('fail-open against a real redis-server that dies and comes back', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('serves the compute result while Redis is down and recovers when it returns', async () => {
    const cache = createCache({ store: redis.url, namespace: uniqueNamespace(), timeoutMs: 100 });
    const errors = track(cache);
    const compute = vi.fn(async () => 'from provider');

    await cache.getOrCompute(request('a'), compute);
    await cache.flush();
    expect((await cache.getOrCompute(request('a'), compute)).hit).toBe(true);

    await redis.kill();
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cache.getOrCompute(request(`down-${i}`), compute)),
    );
    await cache.flush();
    expect(results.every((r) => r.value === 'from provider' && !r.hit)).toBe(true);
    // Bounded by the per-operation timeout, not by a reconnect loop (generous margin for a loaded CI machine).
    expect(Date.now() - started).toBeLessThan(2000);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => ['STORE_UNAVAILABLE', 'STORE_TIMEOUT'].includes(e.error.code))).toBe(true);

    await redis.restart();
    // The client reconnects on its own; a write lands and the next identical call hits.
    await until(async () => {
      await cache.getOrCompute(request('after'), compute);
      await cache.flush();
      return (await cache.getOrCompute(request('after'), compute)).hit;
    });
  });

  it('never hangs on a Redis that is not there at all', async () => {
    const port = await freePort();
    const cache = createCache({ store: `redis://127.0.0.1:${port}`, timeoutMs: 100 });
    const errors = track(cache);
    const started = Date.now();
    const result = await cache.getOrCompute(request('nobody home'), async () => 'computed');
    await cache.flush();
    expect(result).toMatchObject({ value: 'computed', hit: false });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('fail-open on SQLite', () => {
  it('works without the cache when the database cannot be created', async () => {
    // A path through a regular file cannot be created, even by root.
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const cache = createCache({ store: `sqlite://${file}/sub/cache.sqlite`, timeoutMs: 500 });
    const errors = track(cache);
    const result = await cache.getOrCompute(request('x'), async () => 'computed');
    await cache.flush();
    expect(result.value).toBe('computed');
    expect(errors.length).toBeGreaterThan(0);
  });

  it('works without the cache when the file is not a database', async () => {
    const path = join(tempDir(), 'not-a-db.sqlite');
    writeFileSync(path, 'this is definitely not an sqlite database file, just text padding it out'.repeat(20));
    const cache = createCache({ store: `sqlite://${path}`, timeoutMs: 500 });
    const errors = track(cache);
    const result = await cache.getOrCompute(request('x'), async () => 'computed');
    await cache.flush();
    expect(result.value).toBe('computed');
    expect(errors.map((e) => e.error.code)).toContain('STORE_UNAVAILABLE');
  });
});

describe('fail-open on a store that hangs', () => {
  it('gives up after timeoutMs, returns the compute result and reports STORE_TIMEOUT', async () => {
    const never = () => new Promise<never>(() => {});
    const hanging = { get: never, set: never, delete: never, clear: never };
    const cache = createCache({ store: new Keyv({ store: hanging }), timeoutMs: 50 });
    const errors = track(cache);
    const started = Date.now();
    const result = await cache.getOrCompute(request('x'), async () => 'computed');
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ value: 'computed', hit: false });
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(1000);
    await cache.flush();
    expect(errors.map((e) => e.error.code)).toEqual(['STORE_TIMEOUT', 'STORE_TIMEOUT']);
    expect(errors.map((e) => e.operation)).toEqual(['get', 'set']);
  });

  it('a store that throws on every call is a miss, never an exception', async () => {
    const broken = {
      get: async () => {
        throw new Error('disk on fire');
      },
      set: async () => {
        throw new Error('disk on fire');
      },
      delete: async () => false,
      clear: async () => {},
    };
    const cache = createCache({ store: broken });
    const errors = track(cache);
    expect((await cache.getOrCompute(request('x'), async () => 'computed')).value).toBe('computed');
    await cache.flush();
    expect(errors.length).toBe(2);
    expect(errors[0]!.error.message).toContain('disk on fire');
  });
});
