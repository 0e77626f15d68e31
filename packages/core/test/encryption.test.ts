import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { STORE_KINDS, storeUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CacheOptions,
  type CacheRequest,
  createCache,
  type EntryInfo,
  type ErrorEvent,
  keyId,
  type ResponseCache,
} from '../src/index.js';
import { rawDump, sqliteFileText } from './helpers/raw.js';

const PROMPT = 'What is the secret launch code for project Bluebird?';
const ANSWER = 'The launch code is ZEBRA-7734-TANGO, keep it safe.';
const req = (text = PROMPT, extra: Partial<CacheRequest> = {}): CacheRequest => ({
  kind: 'chat',
  provider: 'openai.chat',
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content: [{ type: 'text', text }] }],
  ...extra,
});

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);

const caches: ResponseCache[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function track(cache: ResponseCache): ErrorEvent[] {
  caches.push(cache);
  const errors: ErrorEvent[] = [];
  cache.on('error', (event) => errors.push(event));
  return errors;
}

/** A stored entry's text, with its digest field rewritten to the one `to` expects for req(). */
function moveEntry(text: string | undefined, to: ResponseCache): string {
  const entry = JSON.parse(text!) as { digest: string };
  entry.digest = to.key(req()).split(':').at(-1)!;
  return JSON.stringify(entry);
}

async function list(cache: ResponseCache): Promise<EntryInfo[]> {
  const out: EntryInfo[] = [];
  for await (const entry of cache.entries()) out.push(entry);
  return out;
}

describe.each(STORE_KINDS)('encryption at rest on %s', (kind) => {
  function make(options: CacheOptions = {}) {
    const cache = createCache({ timeoutMs: 5000, namespace: uniqueNamespace(kind), ...options });
    const errors = track(cache);
    return { cache, errors };
  }

  it('round-trips, and neither the prompt nor the answer is readable in the store', async () => {
    const { cache, errors } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    const compute = vi.fn(async () => ({ text: ANSWER, at: new Date(0) }));
    await cache.getOrCompute(req(), compute, { metadata: () => ({ usage: { inputTokens: 12, outputTokens: 9 } }) });
    await cache.flush();
    const hit = await cache.getOrCompute(req(), compute);
    expect(hit).toMatchObject({ hit: true, value: { text: ANSWER } });
    expect(hit.value.at).toBeInstanceOf(Date);
    expect(compute).toHaveBeenCalledTimes(1);
    expect(errors).toEqual([]);

    const raw = await rawDump(cache);
    expect(raw).toContain(cache.key(req())); // the entry is there…
    expect(raw).not.toContain('ZEBRA'); // …but not the answer
    expect(raw).not.toContain('launch code'); // nor the prompt (keys are digests)
    expect(raw).not.toContain('Bluebird');

    // Metadata stays readable without the key: listings, stats and purges work for operators.
    const [entry] = await list(createCache({ store: cache.store, namespace: cache.namespace, encryption: false }));
    expect(entry).toMatchObject({ encrypted: true, keyId: keyId(KEY_A), usage: { inputTokens: 12, outputTokens: 9 } });
  });

  it('a wrong or missing key never finds the entry (its digest is keyed): a plain miss, the provider is called', async () => {
    const { cache } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    await cache.set(req(), ANSWER);
    for (const encryption of [{ key: KEY_B }, false] as const) {
      const { cache: other, errors } = make({ store: cache.store, namespace: cache.namespace, encryption });
      expect(other.key(req())).not.toBe(cache.key(req()));
      const misses: string[] = [];
      other.on('miss', (event) => misses.push(event.reason));
      expect(await other.get(req())).toBeUndefined();
      const result = await other.getOrCompute(req(), async () => 'from provider', { noStore: true });
      expect(result).toMatchObject({ hit: false, value: 'from provider' });
      expect(misses).toEqual(['absent']);
      expect(errors).toEqual([]);
      await other.flush();
      // Left alone: the deployment holding the key still hits.
      expect(await cache.get(req())).toBe(ANSWER);
    }
  });

  it('an entry under our key with a key id we do not hold is a DECRYPT_FAILED miss, and left alone', async () => {
    const { cache: writer } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    await writer.set(req(), ANSWER);
    // Only someone holding both keys could place it there; a copy under the name makes the case reachable.
    const { cache, errors } = make({ store: writer.store, namespace: writer.namespace, encryption: { key: KEY_B } });
    await cache.store.set(cache.key(req()), moveEntry(await writer.store.get(writer.key(req())), cache), undefined);
    expect(await cache.get(req())).toBeUndefined();
    expect(errors.map((e) => [e.operation, e.error.code])).toEqual([['decrypt', 'DECRYPT_FAILED']]);
    expect(errors[0]!.error.message).toMatch(/previousKeys/);
    await cache.flush();
    expect(await cache.store.get(cache.key(req()))).toBeDefined();
  });

  it('a tampered byte fails authentication: miss, DECRYPT_FAILED, and the entry is deleted', async () => {
    const { cache, errors } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    await cache.set(req(), ANSWER);
    const key = cache.key(req());
    const text = (await cache.store.get(key))!;
    const body = /"body":"([^"]+)"/.exec(text)![1]!;
    const flipped = body.slice(0, 10) + (body[10] === 'A' ? 'B' : 'A') + body.slice(11);
    await cache.store.set(key, text.replace(body, flipped), undefined);
    expect(await cache.get(req())).toBeUndefined();
    expect(errors.map((e) => e.error.code)).toEqual(['DECRYPT_FAILED']);
    expect(errors[0]!.error.message).toMatch(/did not authenticate/);
    await cache.flush();
    expect(await cache.store.get(key)).toBeUndefined();
  });

  it('a ciphertext moved under another key does not open there (the key is authenticated data)', async () => {
    const { cache, errors } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    await cache.set(req('first question'), 'first answer');
    await cache.set(req('second question'), 'second answer');
    const from = cache.key(req('first question'));
    const to = cache.key(req('second question'));
    // Rewrite the envelope's own digest too, so only the AEAD binding can catch the move.
    const moved = (await cache.store.get(from))!.replace(from.split(':').at(-1)!, to.split(':').at(-1)!);
    await cache.store.set(to, moved, undefined);
    expect(await cache.get(req('second question'))).toBeUndefined();
    expect(errors.map((e) => e.error.code)).toEqual(['DECRYPT_FAILED']);
  });

  it('an unencrypted entry is not served when encryption is required', async () => {
    const { cache, errors } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    // Whoever can list key names can copy one and plant a plaintext envelope under it.
    const { cache: plain } = make({ store: cache.store, namespace: cache.namespace, encryption: false });
    await plain.set(req(), 'planted in plaintext');
    await cache.store.set(cache.key(req()), moveEntry(await plain.store.get(plain.key(req())), cache), undefined);
    expect(await cache.get(req())).toBeUndefined();
    expect(errors.map((e) => e.error.code)).toEqual(['DECRYPT_FAILED']);
    expect(errors[0]!.error.message).toMatch(/not encrypted/);
  });

  it('rotation: an entry under a previous key is read and re-written under the current key', async () => {
    const { cache: old } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    await old.set(req(), ANSWER, { ttl: '1h' });
    const before = (await list(old))[0]!;
    const { cache, errors } = make({
      store: old.store,
      namespace: old.namespace,
      encryption: { key: KEY_B, previousKeys: [KEY_A] },
    });
    expect(await cache.get(req())).toBe(ANSWER);
    await cache.flush();
    // Moved: to the current key's digest, re-encrypted, and the copy under the retired key deleted.
    const entries = await list(cache);
    expect(entries.map((entry) => entry.key)).toEqual([cache.key(req())]);
    expect(before.key).toBe(old.key(req()));
    expect(before.key).not.toBe(cache.key(req()));
    const [after] = entries;
    expect(after).toMatchObject({ keyId: keyId(KEY_B), createdAt: before.createdAt, expiresAt: before.expiresAt });
    expect(await cache.get(req())).toBe(ANSWER);
    expect(errors).toEqual([]);
    // The old key alone no longer opens it: it really was re-encrypted.
    expect(await old.get(req())).toBeUndefined();
  });

  it('inspect shows the value with the key, and metadata plus a DECRYPT_FAILED reason without it', async () => {
    const { cache } = make({ store: storeUrl(kind), encryption: { key: KEY_A } });
    await cache.set(req(), ANSWER);
    const key = cache.key(req());
    expect(await cache.inspect(key)).toMatchObject({ value: ANSWER, info: { encrypted: true, key } });
    const { cache: blind } = make({ store: cache.store, namespace: cache.namespace, encryption: false });
    const seen = await blind.inspect(key);
    expect(seen?.value).toBeUndefined();
    expect(seen?.error?.code).toBe('DECRYPT_FAILED');
    expect(seen?.info.model).toBe('gpt-4o-mini');
  });
});

describe('encryption on disk', () => {
  it('the SQLite file and WAL hold neither prompt nor answer', async () => {
    const path = join(tempDir(), 'enc.sqlite');
    const cache = createCache({ store: `sqlite://${path}`, encryption: { key: KEY_A }, timeoutMs: 5000 });
    caches.push(cache);
    for (let i = 0; i < 20; i++) await cache.set(req(`${PROMPT} ${i}`), `${ANSWER} ${i}`);
    await cache.flushStats();
    const text = sqliteFileText(path);
    expect(text).toContain('llmemo:v2:default:chat');
    expect(text).not.toContain('ZEBRA');
    expect(text).not.toContain('Bluebird');

    // Control: the same writes without encryption do put the answer on disk.
    const plainPath = join(tempDir(), 'plain.sqlite');
    const plain = createCache({ store: `sqlite://${plainPath}`, encryption: false, timeoutMs: 5000 });
    caches.push(plain);
    await plain.set(req(), ANSWER);
    expect(sqliteFileText(plainPath)).toContain('ZEBRA');
    expect(sqliteFileText(plainPath)).not.toContain('Bluebird');
  });
});

describe('encryption keys', () => {
  const request = req('key formats');

  it.each([
    ['a Buffer', KEY_A],
    ['a Uint8Array', new Uint8Array(KEY_A)],
    ['hex', KEY_A.toString('hex')],
    ['base64', KEY_A.toString('base64')],
    ['base64url', KEY_A.toString('base64url')],
  ])('accepts %s', async (_name, key) => {
    const writer = createCache({ encryption: { key: KEY_A } });
    const reader = createCache({ store: writer.store, encryption: { key } });
    caches.push(writer, reader);
    await writer.set(request, 'ok');
    expect(await reader.get(request)).toBe('ok');
  });

  it.each([
    ['too short', randomBytes(31)],
    ['a short string', 'hunter2'],
    ['hex of 31 bytes', randomBytes(31).toString('hex')],
    ['a number', 42],
  ])('rejects %s, without echoing it', (_name, key) => {
    let message = '';
    try {
      createCache({ encryption: { key: key as never } });
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_OPTIONS' });
      message = (error as Error).message;
    }
    expect(message).toMatch(/32 bytes/);
    expect(message).toMatch(/openssl rand -base64 32/);
    if (typeof key === 'string') expect(message).not.toContain(key);
  });

  it('takes the key from LLMEMO_ENCRYPTION_KEY (and previous keys from LLMEMO_ENCRYPTION_PREVIOUS_KEYS)', async () => {
    vi.stubEnv('LLMEMO_ENCRYPTION_KEY', KEY_B.toString('base64'));
    vi.stubEnv('LLMEMO_ENCRYPTION_PREVIOUS_KEYS', ` ${KEY_A.toString('hex')} `);
    const old = createCache({ encryption: { key: KEY_A } });
    caches.push(old);
    await old.set(request, 'under A');
    const fromEnv = createCache({ store: old.store });
    caches.push(fromEnv);
    expect(await fromEnv.get(request)).toBe('under A');
    await fromEnv.set(request, 'under B');
    expect((await list(fromEnv))[0]?.keyId).toBe(keyId(KEY_B));
    // encryption: false wins over the environment.
    const off = createCache({ store: old.store, encryption: false });
    caches.push(off);
    await off.set(req('plain'), 'plain');
    const entries = await list(off);
    expect(entries.find((e) => e.key === off.key(req('plain')))?.encrypted).toBe(false);
  });

  it('explains what is missing', () => {
    vi.stubEnv('LLMEMO_ENCRYPTION_KEY', '');
    expect(() => createCache({ encryption: {} })).toThrow(/encryption needs a key: pass encryption.key or set LLMEMO/);
    expect(() => createCache({ encryption: { key: KEY_A, rotate: true } as never })).toThrow(/no option 'rotate'/);
    expect(() => createCache({ encryption: { key: KEY_A, previousKeys: KEY_B as never } })).toThrow(/previousKeys/);
  });
});
