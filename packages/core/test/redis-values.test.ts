// The Redis store reads and writes values on the node-redis client itself, not through Keyv and @keyv/redis: what
// it stores must stay exactly what Keyv stores (other versions, the CLI and apps' own Keyv read it), and what it
// reads must be answered as Keyv answered it.
import KeyvRedis, { createClient } from '@keyv/redis';
import { redisUrl, uniqueNamespace } from '@llmemo/test-support';
import type Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheRequest, CorruptStoredValue, createCache, KeyvStore, RedisStore } from '../src/index.js';
import { rawKeyv } from '../src/stores/raw-keyv.js';

type Client = ReturnType<typeof createClient>;
let client: Client;
let keyv: Keyv;
let store: RedisStore;
/** The path RedisStore took before: its values through Keyv and @keyv/redis, as KeyvStore reads them. */
let reference: KeyvStore;

beforeAll(async () => {
  client = createClient({ url: redisUrl() });
  await client.connect();
  // The Keyv RedisStore built over @keyv/redis before it read the client directly: no prefix, JSON wrapper.
  const adapter = new KeyvRedis<string>(redisUrl());
  adapter.namespace = undefined;
  keyv = rawKeyv(adapter, { json: true });
  reference = new KeyvStore('redis', keyv);
  store = new RedisStore(redisUrl());
  await store.ready();
});

afterAll(async () => {
  await store.close();
  await keyv.disconnect();
  await client.close();
});

const key = () => `${uniqueNamespace('values')}:k`;

describe('RedisStore values on the client directly', () => {
  it('writes the wrapper Keyv writes, with the same PX, and Keyv reads it back', async () => {
    const k = key();
    const before = Date.now();
    await store.set(k, '{"v":"é\\n"}', 60_000);
    const raw = JSON.parse((await client.get(k))!) as { value: string; expires: number };
    expect(raw.value).toBe('{"v":"é\\n"}');
    expect(raw.expires).toBeGreaterThanOrEqual(before + 60_000);
    expect(raw.expires).toBeLessThanOrEqual(Date.now() + 60_000);
    const pttl = await client.pTTL(k);
    expect(pttl).toBeGreaterThan(59_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect(await keyv.get(k)).toBe('{"v":"é\\n"}');
  });

  it('writes no expiry (and no PX) for an undefined or zero TTL, as Keyv does', async () => {
    for (const ttl of [undefined, 0]) {
      const k = key();
      await store.set(k, 'forever', ttl);
      expect(await client.get(k)).toBe('{"value":"forever"}');
      expect(await client.pTTL(k)).toBe(-1);
    }
  });

  it('reads what Keyv wrote', async () => {
    const k = key();
    await keyv.set(k, 'from keyv', 60_000);
    expect(await store.get(k)).toBe('from keyv');
    const forever = key();
    await keyv.set(forever, 'no ttl');
    expect(await store.get(forever)).toBe('no ttl');
  });

  /** What a get answers: the text, undefined, or the error's class and message. */
  const answer = (read: Promise<string | undefined>) =>
    read.then(
      (value) => ({ value }),
      (error: Error) => ({ error: error.constructor.name, message: error.message }),
    );

  it('answers every stored text as the Keyv path did: absent, empty, expired, corrupt', async () => {
    expect(await store.get(key())).toBeUndefined();
    const cases = [
      '{"value":"ok"}',
      JSON.stringify({ value: 'fresh', expires: Date.now() + 60_000 }),
      // Expired by its own stamp, though Redis has not dropped the key yet.
      JSON.stringify({ value: 'old', expires: Date.now() - 1 }),
      'null',
      '{}',
      '{"value":null}',
      '5',
      '"text"',
      'not json',
      '{"value":42}',
      '{"value":{"a":1}}',
    ];
    for (const text of cases) {
      const k = key();
      await client.set(k, text);
      const ours = await answer(store.get(k));
      await client.set(k, text);
      expect(ours, text).toEqual(await answer(reference.get(k)));
    }
    expect(await answer(store.get(key()))).toEqual({ value: undefined });
  });

  it('reports text that is not Keyv JSON, or holds no string, as corrupt (not a store failure)', async () => {
    for (const [text, message] of [
      ['not json', /not valid JSON/],
      ['{"value":42}', /holds a number/],
    ] as const) {
      const k = key();
      await client.set(k, text);
      const error = await store.get(k).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, text).toBeInstanceOf(CorruptStoredValue);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('hits right after a miss with the value as computed, not as its caller then mutated it', async () => {
    const cache = createCache({ store: redisUrl(), namespace: uniqueNamespace('values'), persistStats: false });
    const q: CacheRequest = { kind: 'chat', provider: 'p', model: 'm', input: 'right after' };
    try {
      const first = await cache.getOrCompute(q, () => ({ text: 'A' }));
      first.value.text = 'mutated by the caller';
      const second = await cache.getOrCompute(q, () => ({ text: 'computed twice' }));
      expect(second).toMatchObject({ hit: true, value: { text: 'A' } });
    } finally {
      await cache.close();
    }
  });

  it('deletes an entry asked for right after the miss that wrote it: the write cannot land after the delete', async () => {
    const cache = createCache({ store: redisUrl(), namespace: uniqueNamespace('values'), persistStats: false });
    const q: CacheRequest = { kind: 'chat', provider: 'p', model: 'm', input: 'deleted at once' };
    try {
      expect((await cache.getOrCompute(q, () => 'A')).hit).toBe(false);
      expect(await cache.delete(q)).toBe(true);
      await cache.flush();
      expect(await client.get(cache.key(q))).toBeNull();
      expect(await cache.get(q)).toBeUndefined();
    } finally {
      await cache.close();
    }
  });

  it('keeps two requests in separate entries through a cache on it, and a corrupt entry a miss', async () => {
    const namespace = uniqueNamespace('values');
    const cache = createCache({ store: redisUrl(), namespace, timeoutMs: 2000, persistStats: false });
    const a: CacheRequest = { kind: 'chat', provider: 'p', model: 'm', input: 'a' };
    const b: CacheRequest = { ...a, input: 'b' };
    try {
      expect((await cache.getOrCompute(a, () => 'A')).hit).toBe(false);
      expect((await cache.getOrCompute(b, () => 'B')).hit).toBe(false);
      await cache.flush();
      expect(await cache.getOrCompute(a, () => 'x')).toMatchObject({ value: 'A', hit: true });
      expect(await cache.getOrCompute(b, () => 'x')).toMatchObject({ value: 'B', hit: true });
      await client.set(cache.key(a), 'garbage');
      const errors: string[] = [];
      cache.on('error', (event) => errors.push(event.error.code));
      expect(await cache.getOrCompute(a, () => 'A2')).toMatchObject({ value: 'A2', hit: false });
      expect(errors).toEqual(['CORRUPT_ENTRY']);
      expect(cache.stats().breaker?.state).toBe('closed');
    } finally {
      await cache.close();
    }
  });
});
