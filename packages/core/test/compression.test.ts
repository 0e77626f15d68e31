import { randomBytes } from 'node:crypto';
import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CacheOptions,
  type CacheRequest,
  createCache,
  type EntryInfo,
  type ErrorEvent,
  type ResponseCache,
} from '../src/index.js';
import { responseCorpus } from './fixtures/corpus.js';

const req = (text: string): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: text });
const LONG_ANSWER = { text: 'The quick brown fox jumps over the lazy dog. '.repeat(200), when: new Date(0) };

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function make(options: CacheOptions): { cache: ResponseCache; errors: ErrorEvent[] } {
  const cache = createCache({ timeoutMs: 5000, namespace: uniqueNamespace(), ...options });
  caches.push(cache);
  const errors: ErrorEvent[] = [];
  cache.on('error', (event) => errors.push(event));
  return { cache, errors };
}

async function entry(cache: ResponseCache, request: CacheRequest): Promise<EntryInfo> {
  for await (const info of cache.entries()) if (info.key === cache.key(request)) return info;
  throw new Error('entry not found');
}

describe.each(STORE_KINDS)('compression on %s', (kind) => {
  it.each(['gzip', 'brotli'] as const)(
    '%s: bodies above the threshold are stored compressed and read back',
    async (algorithm) => {
      const { cache, errors } = make({ store: storeUrl(kind), compression: algorithm });
      await cache.set(req('long'), LONG_ANSWER);
      await cache.set(req('short'), { text: 'hi' });
      const long = await entry(cache, req('long'));
      expect(long).toMatchObject({ compressed: algorithm, encrypted: false });
      expect(long.bytes).toBeLessThan(JSON.stringify(LONG_ANSWER).length / 5);
      expect((await entry(cache, req('short'))).compressed).toBeNull();
      const hit = await cache.getOrCompute(req('long'), async () => ({ text: 'recomputed', when: new Date() }));
      expect(hit.hit).toBe(true);
      expect(hit.value).toEqual(LONG_ANSWER);
      expect(await cache.get(req('short'))).toEqual({ text: 'hi' });
      expect(errors).toEqual([]);
    },
  );

  it('compresses before encrypting, and both undo on read', async () => {
    const { cache } = make({
      store: storeUrl(kind),
      compression: { algorithm: 'gzip', threshold: 100 },
      encryption: { key: randomBytes(32) },
    });
    await cache.set(req('both'), LONG_ANSWER);
    const info = await entry(cache, req('both'));
    expect(info).toMatchObject({ compressed: 'gzip', encrypted: true });
    // Ciphertext does not compress: had encryption come first, the entry would be as large as the text.
    expect(info.bytes).toBeLessThan(JSON.stringify(LONG_ANSWER).length / 5);
    expect(await cache.get(req('both'))).toEqual(LONG_ANSWER);
  });
});

describe('compression edge cases', () => {
  it('does not compress what would not get smaller (random bytes)', async () => {
    const { cache } = make({ store: 'memory://', compression: { algorithm: 'gzip', threshold: 0 } });
    await cache.set(req('noise'), randomBytes(4000));
    expect((await entry(cache, req('noise'))).compressed).toBeNull();
  });

  it('a corrupt compressed body is a miss with CORRUPT_ENTRY and is deleted', async () => {
    const { cache, errors } = make({ store: 'memory://', compression: 'gzip' });
    await cache.set(req('long'), LONG_ANSWER);
    const key = cache.key(req('long'));
    const text = (await cache.store.get(key))!;
    await cache.store.set(key, text.replace(/"body":"[^"]{8}/, '"body":"AAAAAAAA'), undefined);
    expect(await cache.get(req('long'))).toBeUndefined();
    expect(errors.map((e) => e.error.code)).toEqual(['CORRUPT_ENTRY']);
    await cache.flush();
    expect(await cache.store.get(key)).toBeUndefined();
  });

  it('a cache without compression still reads compressed entries', async () => {
    const { cache } = make({ store: 'memory://', compression: 'brotli' });
    await cache.set(req('long'), LONG_ANSWER);
    const reader = createCache({ store: cache.store, namespace: cache.namespace });
    caches.push(reader);
    expect(await reader.get(req('long'))).toEqual(LONG_ANSWER);
  });

  it.each([
    ['zstd', /'gzip', 'brotli'/],
    [{ algorithm: 'gzip', threshold: -1 }, /threshold/],
    [{ algorithm: 'gzip', level: 9 }, /no option 'level'/],
  ])('rejects %j', (compression, message) => {
    expect(() => createCache({ compression: compression as never })).toThrow(message);
  });
});

/** Total stored bytes of the corpus under a compression setting, per kind of value. */
async function storedBytes(compression: CacheOptions['compression']): Promise<Record<string, number>> {
  const cache = createCache({ compression, maxEntries: 100_000, maxBytes: 1 << 30, maxEntryBytes: 1 << 26 });
  caches.push(cache);
  const totals: Record<string, number> = { all: 0 };
  let kind = '';
  cache.on('write', (event) => {
    totals[kind] = (totals[kind] ?? 0) + event.bytes;
    totals.all! += event.bytes;
  });
  for (const [index, item] of responseCorpus(300).entries()) {
    kind = item.kind;
    await cache.set(req(`corpus ${index}`), item.value);
  }
  return totals;
}

describe('size saved on a realistic corpus of responses', () => {
  // Figures for the README come from packages/core/scripts/compression-report.ts; these bounds sit below them.
  it('gzip and brotli save half of all bytes, most of recorded streams, a quarter of single answers', async () => {
    const plain = await storedBytes(false);
    const gzip = await storedBytes('gzip');
    const brotli = await storedBytes('brotli');
    const saved = (packed: Record<string, number>, kind: string) => 1 - packed[kind]! / plain[kind]!;
    // Base64 gives back a third of what deflate wins on a single 0.3–3 KB answer.
    expect(saved(gzip, 'chat')).toBeGreaterThan(0.25);
    expect(saved(gzip, 'stream')).toBeGreaterThan(0.8);
    expect(saved(gzip, 'all')).toBeGreaterThan(0.5);
    expect(saved(brotli, 'all')).toBeGreaterThan(saved(gzip, 'all') - 0.05);
    // Random-looking floats compress least, but still some (digits and separators).
    expect(saved(gzip, 'embedding')).toBeGreaterThan(0.3);
  });
});
