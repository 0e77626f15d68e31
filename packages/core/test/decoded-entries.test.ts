import { randomBytes } from 'node:crypto';
import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { copyDecoded, decode, encode } from '../src/codec.js';
import { DecodedEntries } from '../src/decoded-entries.js';
import type { Envelope } from '../src/envelope.js';
import { type CacheOptions, createCache, type ResponseCache } from '../src/index.js';

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function open(options: CacheOptions = {}): ResponseCache {
  const cache = createCache({ persistStats: false, timeoutMs: 5000, ...options });
  caches.push(cache);
  return cache;
}

const request = (prompt: string) => ({ kind: 'chat', provider: 'openai', model: 'gpt-4o-mini', input: prompt });

describe('copyDecoded', () => {
  it('copies every type decode revives into new objects of the same type', () => {
    const value = {
      when: new Date('2026-01-02T03:04:05.678Z'),
      bytes: Uint8Array.from([0, 1, 255]),
      buffer: Buffer.from('hello'),
      floats: Float32Array.from([0.5, -1.25]),
      raw: Uint8Array.from([9, 8]).buffer,
      url: new URL('https://example.com/a?b=c'),
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([['a', { deep: [1] }]]),
      set: new Set([1, 'two']),
      list: [{ text: 'x' }, null, 3],
    };
    const decoded = decode<typeof value>(encode(value));
    const copy = copyDecoded(decoded);
    expect(copy).toEqual(decoded);
    expect(Buffer.isBuffer(copy.buffer)).toBe(true);
    expect(Buffer.isBuffer(copy.bytes)).toBe(false);
    expect(copy.floats).toBeInstanceOf(Float32Array);
    expect(copy.raw).toBeInstanceOf(ArrayBuffer);
    for (const key of Object.keys(value) as (keyof typeof value)[]) {
      if (typeof copy[key] === 'object') expect(copy[key], key).not.toBe(decoded[key]);
    }
    copy.bytes[0] = 7;
    copy.buffer[0] = 7;
    copy.when.setTime(0);
    (copy.map.get('a') as { deep: number[] }).deep.push(2);
    copy.list.push('more');
    expect(decoded.bytes[0]).toBe(0);
    expect(decoded.buffer.toString()).toBe('hello');
    expect(decoded.when.getTime()).toBe(value.when.getTime());
    expect(decoded.map.get('a')).toEqual({ deep: [1] });
    expect(decoded.list).toHaveLength(3);
  });

  it('keeps a __proto__ key an own property and never sets the prototype from it', () => {
    const decoded = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copy = copyDecoded(decoded);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    expect(JSON.stringify(copy)).toBe(JSON.stringify(decoded));
  });
});

describe('DecodedEntries', () => {
  const entry = (text: string) => ({ body: { text } }) as unknown as Envelope<unknown>;

  it('hands out a copy only for the very text it decoded under that key', () => {
    const memo = new DecodedEntries();
    memo.remember('k', 'text-1', entry('one'));
    expect(memo.get('k', 'text-2')).toBeUndefined();
    expect(memo.get('other', 'text-1')).toBeUndefined();
    const first = memo.get<{ text: string }>('k', 'text-1')!;
    first.body.text = 'changed';
    expect(memo.get<{ text: string }>('k', 'text-1')!.body.text).toBe('one');
  });

  it('keeps a private copy: changing the entry it was given changes nothing it hands out', () => {
    const memo = new DecodedEntries();
    const given = entry('one');
    memo.remember('k', 'text', given);
    (given.body as { text: string }).text = 'changed';
    expect(memo.get<{ text: string }>('k', 'text')!.body.text).toBe('one');
  });

  it('forgets the oldest entries past its count and size bounds', () => {
    const byCount = new DecodedEntries(2, 1_000);
    for (const key of ['a', 'b', 'c']) byCount.remember(key, key, entry(key));
    expect(byCount.get('a', 'a')).toBeUndefined();
    expect(byCount.get('c', 'c')).toBeDefined();
    const bySize = new DecodedEntries(100, 10);
    bySize.remember('a', 'x'.repeat(6), entry('a'));
    bySize.remember('b', 'y'.repeat(6), entry('b'));
    expect(bySize.get('a', 'x'.repeat(6))).toBeUndefined();
    expect(bySize.get('b', 'y'.repeat(6))).toBeDefined();
  });
});

describe.each(STORE_KINDS)('repeated hits on %s', (kind) => {
  const options = (extra: CacheOptions = {}): CacheOptions => ({
    store: storeUrl(kind),
    namespace: uniqueNamespace(),
    ...extra,
  });

  it('give every caller its own objects, equal to the stored answer', async () => {
    const cache = open(options());
    await cache.set(request('a'), { content: [{ type: 'text', text: 'answer' }], at: new Date(5) });
    const first = await cache.get<{ content: { text: string }[]; at: Date }>(request('a'));
    first!.content[0]!.text = 'mutated';
    first!.at.setTime(0);
    const second = await cache.get<{ content: { text: string }[]; at: Date }>(request('a'));
    expect(second).toEqual({ content: [{ type: 'text', text: 'answer' }], at: new Date(5) });
  });

  it('serve a rewritten entry, never the one decoded before', async () => {
    const cache = open(options());
    await cache.set(request('a'), { text: 'old' });
    expect(await cache.get(request('a'))).toEqual({ text: 'old' });
    await cache.set(request('a'), { text: 'new' });
    expect(await cache.get(request('a'))).toEqual({ text: 'new' });
  });

  it('never serve another request’s entry copied under a key whose own entry was decoded before', async () => {
    const errors: string[] = [];
    const cache = open(options());
    cache.on('error', (event) => errors.push(event.error.code));
    await cache.set(request('victim'), { text: 'victim answer' });
    await cache.set(request('attacker'), { text: 'attacker answer' });
    expect(await cache.get(request('victim'))).toEqual({ text: 'victim answer' });
    // Someone with write access to the store moves the attacker's entry under the victim's key.
    await cache.store.set(cache.key(request('victim')), await cache.store.get(cache.key(request('attacker'))));
    expect(await cache.get(request('victim'))).toBeUndefined();
    expect(errors).toContain('CORRUPT_ENTRY');
  });

  it('with encryption, decrypt a tampered entry afresh (and refuse it) after serving the genuine one', async () => {
    const errors: string[] = [];
    const cache = open(options({ encryption: { key: randomBytes(32) } }));
    cache.on('error', (event) => errors.push(event.error.code));
    await cache.set(request('a'), { text: 'sealed answer' });
    expect(await cache.get(request('a'))).toEqual({ text: 'sealed answer' });
    const key = cache.key(request('a'));
    const stored = JSON.parse((await cache.store.get(key)) as string) as { body: string };
    const bytes = Buffer.from(stored.body, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    stored.body = bytes.toString('base64');
    await cache.store.set(key, JSON.stringify(stored));
    expect(await cache.get(request('a'))).toBeUndefined();
    expect(errors).toContain('DECRYPT_FAILED');
  });
});
