import { join } from 'node:path';
import {
  type RedisServer,
  STORE_KINDS,
  startRedisServer,
  storeUrl,
  tempDir,
  uniqueNamespace,
} from '@llmemo/test-support';
import Keyv from 'keyv';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CacheOptions,
  type CacheRequest,
  createCache,
  type EntryInfo,
  escapeLabel,
  type ResponseCache,
} from '../src/index.js';
import { rawDump, sqliteFileText } from './helpers/raw.js';

const req = (text: string, extra: Partial<CacheRequest> = {}): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model: 'gpt-4o-mini',
  input: text,
  ...extra,
});

const caches: ResponseCache[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

async function collect(iterable: AsyncIterable<EntryInfo>): Promise<EntryInfo[]> {
  const out: EntryInfo[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

let privateRedis: RedisServer;
beforeAll(async () => {
  privateRedis = await startRedisServer();
});
afterAll(async () => {
  await privateRedis.stop();
});

describe.each(STORE_KINDS)('cache.purge on %s', (kind) => {
  function make(options: CacheOptions = {}) {
    const cache = createCache({ store: storeUrl(kind), timeoutMs: 5000, ...options });
    caches.push(cache);
    return cache;
  }

  it('purging tenant A leaves tenant B intact', async () => {
    const base = uniqueNamespace('tenant');
    const cache = make({ namespace: `${base}-a` });
    for (const tenant of ['a', 'b']) {
      for (let i = 0; i < 30; i++) await cache.set(req(`q${i}`), `${tenant}${i}`, { namespace: `${base}-${tenant}` });
    }
    expect(await cache.purge({ namespace: `${base}-a` })).toBe(30);
    for (let i = 0; i < 30; i++) {
      expect(await cache.get(req(`q${i}`), { namespace: `${base}-a` })).toBeUndefined();
      expect(await cache.get(req(`q${i}`), { namespace: `${base}-b` })).toBe(`b${i}`);
    }
    expect(await collect(cache.entries({ namespace: `${base}-b` }))).toHaveLength(30);
  });

  it('namespaces containing _ % : * ? [ ] do not act as wildcards', async () => {
    const base = uniqueNamespace('wild');
    const cache = make({ namespace: base });
    // Each pair: the first is purged; the second would match it if the character were a LIKE or glob wildcard.
    const pairs = [
      [`${base}user_1`, `${base}userX1`],
      [`${base}a%`, `${base}a%bc`],
      [`${base}ns:1`, `${base}ns:1:x`],
      [`${base}*`, `${base}star`],
      [`${base}q?`, `${base}qZ`],
      [`${base}[ab]`, `${base}a`],
    ];
    for (const [target, bystander] of pairs) {
      await cache.set(req('same'), 'target', { namespace: target! });
      await cache.set(req('same'), 'bystander', { namespace: bystander! });
    }
    for (const [target, bystander] of pairs) {
      expect(await cache.purge({ namespace: target! })).toBe(1);
      expect(await cache.get(req('same'), { namespace: target! })).toBeUndefined();
      expect(await cache.get(req('same'), { namespace: bystander! })).toBe('bystander');
    }
  });

  it('filters by kind, provider and model, exactly (models with : _ %)', async () => {
    const ns = uniqueNamespace('labels');
    const cache = make({ namespace: ns });
    const models = ['ft:gpt-4o:org:x', 'ft:gpt-4o:org', 'gpt_4o', 'gptX4o', 'gpt%', 'gpt'];
    for (const model of models) await cache.set(req('m', { model }), model);
    await cache.set(req('e', { kind: 'embedding', model: 'text-embedding-3-small' }), 'emb');
    await cache.set(req('p', { provider: 'anthropic.messages', model: 'gpt_4o' }), 'other provider');

    expect(await cache.purge({ model: 'ft:gpt-4o:org' })).toBe(1);
    expect(await cache.get(req('m', { model: 'ft:gpt-4o:org:x' }))).toBe('ft:gpt-4o:org:x');
    // Without kind/provider the model label cannot be in the prefix; it is matched on each parsed key.
    expect(await cache.purge({ model: 'gpt_4o' })).toBe(2);
    expect(await cache.get(req('m', { model: 'gptX4o' }))).toBe('gptX4o');
    expect(await cache.purge({ kind: 'chat', provider: 'openai.chat', model: 'gpt%' })).toBe(1);
    expect(await cache.get(req('m', { model: 'gpt' }))).toBe('gpt');
    expect(await cache.purge({ kind: 'embedding' })).toBe(1);
    expect(await cache.get(req('e', { kind: 'embedding', model: 'text-embedding-3-small' }))).toBeUndefined();
    expect(await cache.purge({ provider: 'openai.chat' })).toBe(3);
    expect((await collect(cache.entries())).map((e) => e.model)).toEqual([]);
  });

  it('filters by age (olderThan) and by the model the provider reported (responseModel)', async () => {
    const ns = uniqueNamespace('values');
    const cache = make({ namespace: ns });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3 * 86_400_000);
    await cache.set(req('old-a'), 'old', { metadata: { responseModel: 'gpt-4o-mini-2024-07-18' } });
    await cache.set(req('old-b'), 'old', { metadata: { responseModel: 'gpt-4o-mini-2025-01-01' } });
    vi.useRealTimers();
    await cache.set(req('new-a'), 'new', { metadata: { responseModel: 'gpt-4o-mini-2024-07-18' } });
    await cache.set(req('new-b'), 'new');

    expect(await cache.purge({ olderThan: '2d', responseModel: 'gpt-4o-mini-2024-07-18' })).toBe(1);
    expect(await cache.get(req('old-b'))).toBe('old');
    expect(await cache.purge({ responseModel: 'gpt-4o-mini-2024-07-18' })).toBe(1);
    expect(await cache.get(req('new-a'))).toBeUndefined();
    expect(await cache.purge({ olderThan: '1d' })).toBe(1);
    expect(await cache.get(req('old-b'))).toBeUndefined();
    expect(await cache.get(req('new-b'))).toBe('new');
    expect(await cache.purge({ olderThan: '1d', model: 'gpt-4o-mini' })).toBe(0);
  });

  it('GDPR erasure: after purge({ namespace }) nothing of the namespace is found by get, entries or a raw scan', async () => {
    const tenant = `${uniqueNamespace('user')}_42`;
    const other = uniqueNamespace('user');
    const cache = make({ namespace: tenant });
    const answer = `Private answer for ${tenant.slice(-12)} about their medical history`;
    for (let i = 0; i < 5; i++) {
      await cache.getOrCompute(req(`question ${i}`), async () => `${answer} #${i}`, {
        metadata: () => ({ usage: { inputTokens: 10, outputTokens: 20 } }),
      });
      await cache.set(req(`question ${i}`), 'kept', { namespace: other });
    }
    await cache.flush();
    await cache.getOrCompute(req('question 0'), async () => 'unused');
    await cache.flushStats();
    const before = await rawDump(cache);
    expect(before).toContain(escapeLabel(tenant));
    expect(before).toContain(answer);
    expect((await cache.storedStats()).rows.length).toBeGreaterThan(0);

    expect(await cache.purge({ namespace: tenant })).toBe(5);

    // The raw scan first: a later lookup in the namespace is new activity and records new counters.
    const after = await rawDump(cache);
    expect(after).not.toContain(escapeLabel(tenant));
    expect(after).not.toContain(tenant);
    expect(after).not.toContain(answer);
    expect(after).toContain(escapeLabel(other));
    expect((await cache.storedStats()).rows).toEqual([]);
    expect(await collect(cache.entries({ namespace: tenant }, { includeExpired: true }))).toEqual([]);
    for (let i = 0; i < 5; i++) expect(await cache.get(req(`question ${i}`))).toBeUndefined();
    expect(await cache.get(req('question 3'), { namespace: other })).toBe('kept');
  });

  it('rejects filters that are empty, unknown or malformed before touching the store', async () => {
    const cache = make({ namespace: uniqueNamespace() });
    await expect(cache.purge({})).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: /all: true/ });
    await expect(cache.purge({ olderThan: '7 parsecs' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: /olderThan/,
    });
    await expect(cache.purge({ modle: 'x' } as never)).rejects.toMatchObject({ message: /no option 'modle'/ });
    await expect(cache.purge({ all: true, namespace: 'x' })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(cache.purge({ model: '' })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});

describe('purge across every namespace', () => {
  // Stores of their own: { all: true } deletes everything llmemo wrote, and the shared Redis serves other files.
  const urls = {
    memory: () => 'memory://',
    sqlite: () => storeUrl('sqlite'),
    redis: () => privateRedis.url,
    file: () => storeUrl('file'),
  };

  it.each(STORE_KINDS)(
    '{ all: true } deletes every entry and counter, and a model filter spans namespaces (%s)',
    async (kind) => {
      const cache = createCache({ store: urls[kind](), timeoutMs: 5000 });
      caches.push(cache);
      for (const ns of ['n1', 'n_2', 'n:3']) {
        await cache.set(req('x'), 'x', { namespace: ns });
        await cache.set(req('y', { model: 'gpt-4.1' }), 'y', { namespace: ns });
        await cache.getOrCompute(req('x'), async () => 'unused', { namespace: ns });
      }
      await cache.flushStats();
      expect((await cache.storedStats({ all: true })).totals.hits).toBe(3);
      expect(await cache.purge({ all: true, model: 'gpt-4.1' })).toBe(3);
      expect(await collect(cache.entries({ all: true }))).toHaveLength(3);
      // Counters are only dropped with the whole scope.
      expect((await cache.storedStats({ all: true })).totals.hits).toBe(3);
      expect(await cache.purge({ all: true })).toBe(3);
      expect(await collect(cache.entries({ all: true }))).toEqual([]);
      expect((await cache.storedStats({ all: true })).rows).toEqual([]);
      const raw = await rawDump(cache);
      expect(raw).not.toContain('llmemo:v2:');
    },
  );

  it('leaves keys that are not llmemo entries alone', async () => {
    const cache = createCache({ store: privateRedis.url, timeoutMs: 5000 });
    caches.push(cache);
    await cache.store.set('someone-else:key', 'theirs', undefined);
    await cache.store.set('llmemo:v3:future', 'not ours either', undefined);
    await cache.set(req('x'), 'x');
    expect(await cache.purge({ all: true })).toBe(1);
    expect(await cache.store.get('someone-else:key')).toBe('theirs');
    expect(await cache.store.get('llmemo:v3:future')).toBe('not ours either');
  });
});

describe('erasure on SQLite reaches the file itself', () => {
  it('leaves no bytes of a purged namespace in the database file or its WAL', async () => {
    const path = join(tempDir(), 'erase.sqlite');
    const tenant = 'tenant-erase-me';
    const answer = 'THE-ANSWER-THAT-MUST-GO';
    const cache = createCache({ store: `sqlite://${path}`, namespace: tenant, timeoutMs: 5000 });
    caches.push(cache);
    for (let i = 0; i < 50; i++) {
      await cache.set(req(`q${i}`), `${answer} ${i} ${'padding '.repeat(50)}`);
      await cache.set(req(`q${i}`), `kept ${i}`, { namespace: 'tenant-keep' });
    }
    await cache.getOrCompute(req('q1'), async () => 'unused');
    await cache.flushStats();
    expect(sqliteFileText(path)).toContain(answer);
    expect(await cache.purge({ namespace: tenant })).toBe(50);
    const text = sqliteFileText(path);
    expect(text).not.toContain(answer);
    expect(text).not.toContain(tenant);
    expect(text).toContain('tenant-keep');
  });
});

describe('purge on a Keyv store the app built', () => {
  it('falls back to Keyv’s iterator (a Map store)', async () => {
    const cache = createCache({ store: new Keyv(), namespace: 'a_1' });
    caches.push(cache);
    await cache.set(req('x'), 'x');
    await cache.set(req('x'), 'y', { namespace: 'aX1' });
    await cache.set(req('z', { model: 'm2' }), 'z');
    expect(await cache.purge({ model: 'm2' })).toBe(1);
    expect(await cache.purge({ namespace: 'a_1' })).toBe(1);
    expect(await cache.get(req('x'), { namespace: 'aX1' })).toBe('y');
  });

  it('says so when the adapter cannot list its keys', async () => {
    const map = new Map<string, unknown>();
    const adapter = {
      get: async (key: string) => map.get(key),
      set: async (key: string, value: unknown) => void map.set(key, value),
      delete: async (key: string) => map.delete(key),
      clear: async () => map.clear(),
    };
    const cache = createCache({ store: adapter });
    caches.push(cache);
    await expect(cache.purge({ namespace: 'x' })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: /cannot list its entries/,
    });
  });
});
