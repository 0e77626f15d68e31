import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CacheRequest,
  createCache,
  type FileStore,
  type LlmemoError,
  type ResponseCache,
  withEnvironment,
} from '../src/index.js';

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

const PROMPT = 'Summarise the quarterly report for ACME in three bullet points.';
const request: CacheRequest = {
  kind: 'chat',
  provider: 'openai.chat',
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content: PROMPT }],
  params: { temperature: 0 },
};

function open(options: Parameters<typeof createCache>[0]): ResponseCache {
  const cache = createCache({ pruneInterval: false, ...options });
  caches.push(cache);
  return cache;
}

function entryText(cache: ResponseCache, key: string): string {
  return readFileSync((cache.store as FileStore).adapter.pathOf(key), 'utf8');
}

describe('environment configuration', () => {
  it('fills store, mode, namespace and ttl from LLMEMO_* when the options are not given; options win', () => {
    const env = { LLMEMO_STORE: 'file://fx', LLMEMO_MODE: 'replay', LLMEMO_NAMESPACE: 'ci', LLMEMO_TTL: '90s' };
    expect(withEnvironment({}, env)).toEqual({ store: 'file://fx', mode: 'replay', namespace: 'ci', ttl: 90_000 });
    expect(withEnvironment({ store: 'memory://', mode: 'read-only', namespace: 'app', ttl: 5 }, env)).toEqual({
      store: 'memory://',
      mode: 'read-only',
      namespace: 'app',
      ttl: 5,
    });
    expect(withEnvironment({}, { LLMEMO_TTL: 'never' })).toEqual({ ttl: null });
    expect(withEnvironment({}, { LLMEMO_TTL: '60000' })).toEqual({ ttl: 60_000 });
    expect(withEnvironment({}, { LLMEMO_MODE: '  ' })).toEqual({});
  });

  it('a file:// store waits 5 s for the disk by default (a timed-out read would fail a replay)', () => {
    expect(open({ store: `file://${join(tempDir(), 'fx')}` }).timeoutMs).toBe(5000);
    expect(open({ store: `file://${join(tempDir(), 'fx')}`, timeoutMs: 50 }).timeoutMs).toBe(50);
    expect(createCache({ store: 'memory://' }).timeoutMs).toBe(100);
  });

  it('an invalid variable throws INVALID_OPTIONS naming it', () => {
    for (const [name, value] of [
      ['LLMEMO_MODE', 'playback'],
      ['LLMEMO_TTL', 'a week'],
      ['LLMEMO_NAMESPACE', 'n'.repeat(300)],
    ] as const) {
      expect(() => withEnvironment({}, { [name]: value })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(name) }),
      );
    }
  });

  it('createCache reads process.env: the same code records, then replays', async () => {
    const dir = join(tempDir(), 'fixtures');
    const saved = { ...process.env };
    try {
      process.env.LLMEMO_STORE = `file://${dir}`;
      process.env.LLMEMO_NAMESPACE = 'env-ns';
      const recording = open({});
      expect(recording.store.type).toBe('file');
      expect(recording.namespace).toBe('env-ns');
      expect((await recording.getOrCompute(request, async () => 'recorded')).hit).toBe(false);
      await recording.flush();
      process.env.LLMEMO_MODE = 'replay';
      const replaying = open({});
      expect(await replaying.getOrCompute(request, async () => 'never called')).toMatchObject({
        value: 'recorded',
        hit: true,
      });
      process.env.LLMEMO_MODE = 'playback';
      expect(() => open({})).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    } finally {
      for (const name of ['LLMEMO_STORE', 'LLMEMO_NAMESPACE', 'LLMEMO_MODE']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });
});

describe('recordRequest', () => {
  it('off by default: the prompt is nowhere in the entry file', async () => {
    const cache = open({ store: `file://${join(tempDir(), 'fx')}` });
    await cache.set(request, 'answer');
    const text = entryText(cache, cache.key(request));
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain('"request"');
  });

  it('on: the canonical request sits beside the answer, readable, and entries() and inspect() show it', async () => {
    const cache = open({ store: `file://${join(tempDir(), 'fx')}`, recordRequest: true });
    await cache.set(request, 'answer');
    const file = JSON.parse(entryText(cache, cache.key(request))) as { entry: { request: unknown; body: unknown } };
    expect(file.entry.request).toEqual({
      input: [{ content: PROMPT, role: 'user' }],
      kind: 'chat',
      model: 'gpt-4o-mini',
      params: { temperature: 0 },
      provider: 'openai.chat',
      specVersion: null,
    });
    const listed = [];
    for await (const entry of cache.entries()) listed.push(entry);
    expect(listed.map((entry) => entry.request)).toEqual([file.entry.request]);
    expect((await cache.inspect(cache.key(request)))?.info.request).toEqual(file.entry.request);
    // The request is not part of the key: the same request recorded with or without it hits.
    const plain = open({ store: cache.store });
    expect((await plain.getOrCompute(request, async () => 'recomputed')).value).toBe('answer');
  });

  it('is a boolean, and refused with encryption (prompts in the clear beside sealed answers)', () => {
    expect(() => open({ recordRequest: 'yes' as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => open({ recordRequest: true, encryption: { key: Buffer.alloc(32, 7) } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/encryption/) }),
    );
  });
});

describe('a replay miss', () => {
  async function miss(options: Parameters<typeof createCache>[0]): Promise<LlmemoError> {
    const cache = open({ mode: 'replay', ...options });
    const error = await cache.getOrCompute(request, async () => 'never').catch((caught: unknown) => caught);
    return error as LlmemoError;
  }

  it('names the model, the file it looked for and how to record it, never the prompt', async () => {
    const dir = join(tempDir(), 'fx');
    const error = await miss({ store: `file://${dir}`, namespace: 'ci' });
    expect(error.code).toBe('CACHE_MISS');
    expect(error.message).toContain("model 'gpt-4o-mini'");
    expect(error.message).toMatch(/mode 'read-write'/);
    const cache = open({ store: `file://${dir}`, namespace: 'ci' });
    expect(error.message).toContain((cache.store as FileStore).adapter.pathOf(cache.key(request)));
    expect(error.message).not.toContain(PROMPT);
    expect(error.message).not.toContain('ACME');
  });

  it('quotes the request when the cache records requests anyway', async () => {
    const error = await miss({ store: `file://${join(tempDir(), 'fx')}`, recordRequest: true });
    expect(error.code).toBe('CACHE_MISS');
    expect(error.message).toContain(PROMPT);
  });

  it('on other stores names the key', async () => {
    const error = await miss({ store: 'memory://' });
    expect(error.message).toContain('llmemo:v2:default:chat:openai.chat:gpt-4o-mini:');
    expect(error.message).not.toContain(PROMPT);
  });
});
