// Issue 10, items 10-13: attacks on keys, labels, encrypted entries and TTLs, each through the public surface.
// Every test here failed on the code before the fix (the attack succeeded); see the report of the branch.
import { randomBytes } from 'node:crypto';
import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCanonicalBase64 } from '../src/file-token.js';
import {
  type CacheOptions,
  type CacheRequest,
  createCache,
  type ErrorEvent,
  escapeLabel,
  isWellFormed,
  keyPrefix,
  MAX_DURATION_MS,
  MAX_TIMER_MS,
  parseKey,
  type ResponseCache,
  type SkipEvent,
} from '../src/index.js';

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function open(options: CacheOptions = {}): ResponseCache {
  const cache = createCache({ persistStats: false, timeoutMs: 5000, ...options });
  caches.push(cache);
  return cache;
}

const chat = (input: unknown, model = 'gpt-4o'): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model,
  input,
});
const user = (content: unknown) => chat([{ role: 'user', content }]);

/** An upstream whose every answer is unique: a served answer for another question is caught by its value. */
function uniqueUpstream() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    answer: (question: string) => async () => `answer #${++calls} to ${question}`,
  };
}

describe('item 10: data URLs and base64 are decoded only in file fields, strictly, with their media type', () => {
  const cache = createCache({ persistStats: false });

  it('prompt text that looks like a data URL is text: two different prompts never share an answer', async () => {
    const upstream = uniqueUpstream();
    const store = open();
    const prompts = [
      'data:,hello',
      'data:text/html;base64,aGVsbG8=',
      'data:text/plain,hello',
      'data:,%68%65%6c%6c%6f',
      'data:;base64,aGVsbG8=',
    ];
    const answers: string[] = [];
    for (const prompt of prompts) {
      const result = await store.getOrCompute(user([{ type: 'text', text: prompt }]), upstream.answer(prompt));
      expect(result.hit).toBe(false);
      answers.push(result.value);
      await store.flush();
    }
    expect(upstream.calls).toBe(prompts.length);
    // The same prompts as bare strings (a whole prompt) and as message content strings: still text.
    const keys = prompts.flatMap((prompt) => [cache.key(chat(prompt)), cache.key(user(prompt))]);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('the media type of a data URL is keyed: a PNG and a PDF of the same bytes never share an answer', async () => {
    const upstream = uniqueUpstream();
    const store = open();
    const payload = Buffer.from('%PDF-1.7 or an image, same bytes').toString('base64');
    const asImage = user([{ type: 'image_url', image_url: { url: `data:image/png;base64,${payload}` } }]);
    const asPdf = user([{ type: 'image_url', image_url: { url: `data:application/pdf;base64,${payload}` } }]);
    const first = await store.getOrCompute(asImage, upstream.answer('png'));
    await store.flush();
    const second = await store.getOrCompute(asPdf, upstream.answer('pdf'));
    expect(second).toMatchObject({ hit: false, value: 'answer #2 to pdf' });
    expect(first.value).toBe('answer #1 to png');
    // OpenAI file parts and Responses input files too.
    const file = (type: string) => user([{ type: 'file', file: { file_data: `data:${type};base64,${payload}` } }]);
    expect(cache.key(file('application/pdf'))).not.toBe(cache.key(file('text/csv')));
    const input = (type: string) => user([{ type: 'input_file', file_data: `data:${type};base64,${payload}` }]);
    expect(cache.key(input('application/pdf'))).not.toBe(cache.key(input('text/csv')));
  });

  it('only canonical base64 is decoded: lenient spellings of one byte are different requests', () => {
    const filePart = (data: string) => user([{ type: 'file', mediaType: 'application/octet-stream', data }]);
    const imageUrl = (url: string) => user([{ type: 'image_url', image_url: { url } }]);
    const audio = (data: string) => user([{ type: 'input_audio', input_audio: { data, format: 'wav' } }]);
    // Node's decoder maps every one of these to the single byte 0x41 ('A').
    const spellings = ['QQ==', 'QR==', 'QQ', 'Q Q==', 'QQ==\n', 'Q!Q==', 'QQ=', 'QQ===='];
    for (const wrap of [filePart, audio, (text: string) => imageUrl(`data:image/png;base64,${text}`)]) {
      const keys = spellings.map((text) => cache.key(wrap(text)));
      expect(new Set(keys).size).toBe(spellings.length);
    }
    // URL-safe and standard alphabets are different texts (Node decodes both to 0xfb 0xff).
    expect(cache.key(filePart('-_8='))).not.toBe(cache.key(filePart('+/8=')));
  });

  it('property: canonical base64 is exactly what re-encodes to itself', () => {
    const base64ish = fc.string({
      unit: fc.constantFrom(...'ABQRgwAEIMcks048+/-_=! \n'.split('')),
      maxLength: 12,
    });
    const encoded = fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString('base64'));
    fc.assert(
      fc.property(fc.oneof(base64ish, encoded), (text) => {
        expect(isCanonicalBase64(text)).toBe(Buffer.from(text, 'base64').toString('base64') === text);
      }),
      { numRuns: 5000 },
    );
  });

  it('keys a 16 MB base64 file (no regex backtracking on large payloads)', () => {
    const bytes = Buffer.alloc(12 * 1024 * 1024, 7);
    const part = (data: unknown) => user([{ type: 'file', mediaType: 'video/mp4', data }]);
    expect(cache.key(part(bytes.toString('base64')))).toBe(cache.key(part(bytes)));
    expect(cache.key(part(`${bytes.toString('base64').slice(0, -4)}BwcI`))).not.toBe(cache.key(part(bytes)));
  });

  it('keeps one image one key: bytes, Buffer, canonical base64, or a data URL of the same media type', () => {
    const png = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13]);
    const base64 = Buffer.from(png).toString('base64');
    const part = (data: unknown, mediaType = 'image/png') => user([{ type: 'file', mediaType, data }]);
    const same = [part(png), part(Buffer.from(png)), part(base64), part(`data:image/png;base64,${base64}`)].map(
      (request) => cache.key(request),
    );
    expect(new Set(same).size).toBe(1);
    // A data URL naming another media type than the part's is another request.
    expect(cache.key(part(`data:image/jpeg;base64,${base64}`))).not.toBe(same[0]);
    // LangChain blocks: v1 { data, mimeType } and v0 { source_type: 'base64', data } decode too.
    const v1 = (data: unknown) => user([{ type: 'image', mimeType: 'image/png', data }]);
    expect(cache.key(v1(base64))).toBe(cache.key(v1(png)));
    const v0 = (data: string) => user([{ type: 'image', source_type: 'base64', data }]);
    expect(cache.key(v0(base64))).not.toBe(cache.key(v0(`${base64} `)));
  });

  it('strings outside file fields are never decoded, however they look', () => {
    const bytes = Buffer.from('hello');
    // A tool argument, a system prompt and a param that hold a data URL are not the file they spell.
    const asText = cache.key(user([{ type: 'text', text: 'data:image/png;base64,aGVsbG8=' }]));
    const asFile = cache.key(user([{ type: 'file', mediaType: 'image/png', data: bytes }]));
    expect(asText).not.toBe(asFile);
    const tool = (args: unknown) => chat([{ role: 'assistant', content: [{ type: 'tool-call', input: args }] }]);
    expect(cache.key(tool({ url: 'data:,hello' }))).not.toBe(cache.key(tool({ url: 'data:text/plain,hello' })));
    // Without a media type property, an object's `data` is text: { data: 'QQ==' } is not { data: 'QR==' }.
    expect(cache.key(chat({ data: 'QQ==' }))).not.toBe(cache.key(chat({ data: 'QR==' })));
  });
});

describe('item 11: labels are injective; labels that are not well-formed Unicode are refused', () => {
  const LOOKALIKES = ['\ud800', '\udc00', '\ufffd'];

  it.each(STORE_KINDS)('namespaces \\ud800, \\udc00 and \\ufffd never read or purge each other (%s)', async (kind) => {
    const victim = open({ store: storeUrl(kind), namespace: `\ufffd${uniqueNamespace(kind)}` });
    const suffix = victim.namespace.slice(1);
    await victim.set(chat('q'), "the victim's answer");
    for (const lone of ['\ud800', '\udc00']) {
      const namespace = `${lone}${suffix}`;
      expect(() => createCache({ store: victim.store, namespace })).toThrowError(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/well-formed Unicode/) }),
      );
      await expect(victim.getOrCompute(chat('q'), async () => 'mine', { namespace })).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
      });
      await expect(victim.get(chat('q'), { namespace })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      expect(() => victim.key(chat('q'), { namespace })).toThrowError(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
      await expect(victim.purge({ namespace })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    }
    expect(await victim.get(chat('q'))).toBe("the victim's answer");
  });

  it('a model or provider id that is not well-formed is never cached (skip event), and the call still succeeds', async () => {
    const cache = open();
    const skips: SkipEvent[] = [];
    cache.on('skip', (event) => skips.push(event));
    await cache.set(chat('q', '\ufffd'), 'answer for model \ufffd');
    for (const model of ['\ud800', '\udc00', 'gpt-4o\ud800']) {
      const result = await cache.getOrCompute(chat('q', model), async () => `fresh for ${model}`);
      expect(result).toMatchObject({ hit: false, value: `fresh for ${model}` });
      expect(() => cache.key(chat('q', model))).toThrowError(
        expect.objectContaining({ code: 'UNSERIALIZABLE_REQUEST' }),
      );
    }
    const provider = await cache.getOrCompute({ ...chat('q'), provider: 'openai\udc00' }, async () => 'ok');
    expect(provider.value).toBe('ok');
    // With a custom key function the labels are still checked (they are written into the key).
    const custom = open({ key: () => 'same' });
    expect(() => custom.key(chat('q', '\ud800'))).toThrowError(
      expect.objectContaining({ code: 'UNSERIALIZABLE_REQUEST' }),
    );
    expect(skips.map((skip) => skip.code)).toEqual(Array(4).fill('UNSERIALIZABLE_REQUEST'));
    expect(skips[0]!.reason).toMatch(/CacheRequest\.model must be well-formed Unicode/);
    expect(cache.stats().writes).toBe(1);
  });

  // Any UTF-16 string: lone surrogates, pairs, ASCII, the characters escaping is about (: ~ % _ * ?).
  const utf16 = fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
      fc.constantFrom(
        ':',
        '~',
        '%',
        '_',
        '*',
        '?',
        '~3A',
        '\ud800',
        '\udc00',
        '\ufffd',
        '\ufeff',
        '\u{1F600}',
        'é',
        'e\u0301',
      ),
    ),
    maxLength: 12,
  });

  it('property: distinct labels never escape to one string, and decoding inverts escaping', () => {
    fc.assert(
      fc.property(utf16, utf16, (a, b) => {
        if (!isWellFormed(a) || !isWellFormed(b)) return;
        const [x, y] = [escapeLabel(a), escapeLabel(b)];
        expect(x).toMatch(/^(?:[A-Za-z0-9.-]|~[0-9A-F]{2})+$|^~$/);
        expect(x === y).toBe(a === b);
        const key = `${keyPrefix({ namespace: a, kind: 'chat', provider: b, model: a })}${'0'.repeat(64)}`;
        expect(parseKey(key)).toEqual({ namespace: a, kind: 'chat', provider: b, model: a, digest: '0'.repeat(64) });
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a label that is not well-formed is refused, never escaped', () => {
    fc.assert(
      fc.property(utf16, (label) => {
        if (isWellFormed(label)) expect(() => escapeLabel(label)).not.toThrow();
        else expect(() => escapeLabel(label)).toThrowError(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
      }),
      { numRuns: 2000 },
    );
  });

  it('only the escape escapeLabel writes parses back: a key spelled another way is not ours', () => {
    const digest = 'a'.repeat(64);
    for (const namespace of ['~61', '~3a', '~EF~BF', '~', '~~', 'a~', '~GG', '~C0~80']) {
      const parsed = parseKey(`llmemo:v2:${namespace}:chat:p:m:${digest}`);
      if (namespace === '~') expect(parsed?.namespace).toBe('');
      else expect(parsed).toBeUndefined();
    }
    expect(parseKey(`llmemo:v2:ns:chat:p:m:${digest.toUpperCase()}`)).toBeUndefined();
  });

  it('a purge filter with an ill-formed model cannot select a well-formed one', async () => {
    const cache = open();
    await cache.set(chat('q', '\ufffd'), 'kept');
    for (const model of LOOKALIKES.slice(0, 2)) {
      await expect(cache.purge({ all: true, model })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    }
    expect(await cache.get(chat('q', '\ufffd'))).toBe('kept');
  });
});

describe('item 12: with encryption on, key names do not confirm a prompt and metadata cannot be rewritten', () => {
  const KEY = randomBytes(32);
  const PROMPT = 'Is the merger with Initech going ahead on Friday?';

  it('the digest is keyed: a guessed prompt cannot be confirmed from key names without the key', () => {
    const encrypted = createCache({ encryption: { key: KEY } });
    const guess = createCache({ encryption: false });
    const otherKey = createCache({ encryption: { key: randomBytes(32) } });
    const request = chat(PROMPT);
    const digest = (key: string) => key.split(':').at(-1);
    expect(digest(encrypted.key(request))).toMatch(/^[0-9a-f]{64}$/);
    expect(digest(encrypted.key(request))).not.toBe(digest(guess.key(request)));
    expect(digest(encrypted.key(request))).not.toBe(digest(otherKey.key(request)));
    // Deterministic under one key: the same request still finds its entry.
    expect(encrypted.key(request)).toBe(createCache({ encryption: { key: KEY.toString('hex') } }).key(request));
    // The custom key function's string is keyed too.
    const customKey = (options: CacheOptions) => createCache({ ...options, key: () => PROMPT }).key(request);
    expect(customKey({ encryption: { key: KEY } })).not.toBe(customKey({ encryption: false }));
  });

  const REWRITES: [string, (entry: Record<string, unknown>) => void][] = [
    ['expiresAt (an answer kept fresh past its TTL)', (entry) => (entry.expiresAt = Date.now() + 86_400_000)],
    ['staleUntil', (entry) => (entry.staleUntil = Date.now() + 86_400_000)],
    ['createdAt', (entry) => (entry.createdAt = (entry.createdAt as number) - 1000)],
    ['usage', (entry) => (entry.usage = { inputTokens: 1_000_000, outputTokens: 1 })],
    ['responseModel', (entry) => (entry.responseModel = 'gpt-4o-2099-01-01')],
    ['specVersion', (entry) => (entry.specVersion = 'v9')],
    ['ns', (entry) => (entry.ns = 'another-tenant')],
    ['provider and model', (entry) => Object.assign(entry, { provider: 'x', model: 'y' })],
  ];

  describe.each(STORE_KINDS)('on %s', (kind) => {
    it.each(REWRITES)('rewriting %s is a DECRYPT_FAILED miss, never a hit', async (_name, rewrite) => {
      const cache = open({ store: storeUrl(kind), namespace: uniqueNamespace(kind), encryption: { key: KEY } });
      const errors: ErrorEvent[] = [];
      cache.on('error', (event) => errors.push(event));
      const request = chat(PROMPT);
      await cache.set(request, 'yesterday’s answer', { ttl: '1h', metadata: { usage: { inputTokens: 5 } } });
      const key = cache.key(request);
      const entry = JSON.parse((await cache.store.get(key))!) as Record<string, unknown>;
      rewrite(entry);
      await cache.store.set(key, JSON.stringify(entry), undefined);
      const compute = vi.fn(async () => 'today’s answer');
      const result = await cache.getOrCompute(request, compute, { noStore: true });
      expect(result).toMatchObject({ hit: false, value: 'today’s answer' });
      expect(compute).toHaveBeenCalledTimes(1);
      expect(errors.map((event) => event.error.code)).toEqual(['DECRYPT_FAILED']);
    });

    it('listing and purging by labels still work without the key', async () => {
      const namespace = uniqueNamespace(kind);
      const cache = open({ store: storeUrl(kind), namespace, encryption: { key: KEY } });
      await cache.set(chat('a', 'gpt-4o'), 'A');
      await cache.set(chat('b', 'gpt-4o-mini'), 'B');
      const keyless = open({ store: cache.store, namespace, encryption: false });
      const listed: string[] = [];
      for await (const entry of keyless.entries()) listed.push(`${entry.model}:${entry.encrypted}`);
      expect(listed.sort()).toEqual(['gpt-4o-mini:true', 'gpt-4o:true']);
      expect(await keyless.purge({ namespace, model: 'gpt-4o' })).toBe(1);
      expect(await cache.get(chat('a', 'gpt-4o'))).toBeUndefined();
      expect(await cache.get(chat('b', 'gpt-4o-mini'))).toBe('B');
    });
  });

  it('rotation finds entries keyed under a previous key: one more store read per previous key, on misses only', async () => {
    const oldKey = randomBytes(32);
    const retired = randomBytes(32);
    const before = open({ store: storeUrl('sqlite'), encryption: { key: oldKey } });
    await before.set(chat(PROMPT), 'written before the rotation');
    const cache = open({ store: before.store, encryption: { key: KEY, previousKeys: [oldKey, retired] } });
    const reads = vi.spyOn(cache.store, 'get');
    expect(await cache.get(chat(PROMPT))).toBe('written before the rotation');
    // The current key's digest, then the first previous key's, where it was.
    expect(reads).toHaveBeenCalledTimes(2);
    await cache.flush();
    reads.mockClear();
    expect(await cache.get(chat(PROMPT))).toBe('written before the rotation');
    expect(reads).toHaveBeenCalledTimes(1); // moved: found at once
    reads.mockClear();
    expect(await cache.get(chat('never asked'))).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(3); // a miss reads under each of the three keys
    reads.mockClear();
    // delete() erases the request under every key, so an erasure during a rotation is complete.
    await before.set(chat('to erase'), 'x');
    expect(await cache.delete(chat('to erase'))).toBe(true);
    expect(await before.get(chat('to erase'))).toBeUndefined();
  });
});

describe('item 13: durations a store accepts', () => {
  it.each([
    ['ttl', { ttl: 0.4 }, /whole number of milliseconds/],
    ['ttl', { ttl: 1e300 }, /at most 3155760000000 ms \(100 years; use null/],
    ['ttl', { ttl: '999999999999w' }, /at most 3155760000000 ms/],
    ['ttl', { ttl: '0.0004s' }, /whole number of milliseconds/],
    ['ttl', { ttl: Number.MAX_SAFE_INTEGER }, /at most/],
    ['staleWhileRevalidate', { staleWhileRevalidate: 1e300 }, /at most/],
    ['staleIfError', { staleIfError: 1.5 }, /whole number/],
    ['pruneInterval', { pruneInterval: '52w' }, /at most 2147483647 ms \(about 24.8 days/],
    ['persistStats', { persistStats: '30d' }, /at most 2147483647 ms/],
    ['timeoutMs', { timeoutMs: 2 ** 31 }, /at most 2147483647/],
    ['breaker.cooldown', { breaker: { cooldown: 0.5 } }, /whole number/],
    ['crossProcessCoalescing.poll', { crossProcessCoalescing: { poll: '30d' } }, /at most 2147483647/],
  ] as const)('createCache refuses %s %j, naming the bound', (name, options, message) => {
    expect(() => createCache(options as CacheOptions)).toThrowError(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(name.split('.')[0]!) }),
    );
    expect(() => createCache(options as CacheOptions)).toThrowError(message);
  });

  it.each([
    { ttl: 0.4 },
    { ttl: 1e300 },
    { ttl: '999999999999w' },
    { staleWhileRevalidate: 0.5 },
    { staleIfError: '99999999999w' },
  ])('per-call options %j are refused with INVALID_OPTIONS', async (options) => {
    const cache = open();
    await expect(cache.getOrCompute(chat('q'), async () => 'x', options as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
    await expect(cache.set(chat('q'), 'x', options as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });

  it.each(STORE_KINDS)('the longest TTL and stale windows are written and served by %s', async (kind) => {
    const cache = open({
      store: storeUrl(kind),
      namespace: uniqueNamespace(kind),
      ttl: MAX_DURATION_MS,
      staleWhileRevalidate: MAX_DURATION_MS,
      staleIfError: MAX_DURATION_MS,
      pruneInterval: MAX_TIMER_MS,
      persistStats: MAX_TIMER_MS,
    });
    const errors: ErrorEvent[] = [];
    cache.on('error', (event) => errors.push(event));
    await cache.getOrCompute(chat('q'), async () => 'kept for a century');
    await cache.flush();
    expect(errors).toEqual([]);
    expect(cache.stats().writes).toBe(1);
    expect(await cache.getOrCompute(chat('q'), async () => 'recomputed')).toMatchObject({
      hit: true,
      value: 'kept for a century',
    });
    // Whole durations in text form are exact: no float rounding on the way.
    expect(open({ ttl: '1.005s' }).defaults.ttl).toBe(1005);
  });
});
