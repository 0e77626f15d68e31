import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CacheRequest,
  createCache,
  escapeLabel,
  keyPrefix,
  LlmemoError,
  parseKey,
  unescapeLabel,
} from '../src/index.js';

const PNG = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82]);

function chat(input: unknown, params: Record<string, unknown> = {}, model = 'gpt-4o'): CacheRequest {
  return { kind: 'chat', provider: 'openai.chat', model, specVersion: 'v3', input, params };
}

const messages = (text: string, extra: Record<string, unknown> = {}) => [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: [{ type: 'text', text, ...extra }] },
];

describe('cache.key: one logical request, one key', () => {
  const cache = createCache();

  it('ignores object key order at every depth', () => {
    const a = chat(messages('hi'), {
      temperature: 0,
      tools: [{ name: 't', inputSchema: { type: 'object', properties: { a: {}, b: {} } } }],
    });
    const b = chat(
      [
        { content: 'You are terse.', role: 'system' },
        { content: [{ text: 'hi', type: 'text' }], role: 'user' },
      ],
      { tools: [{ inputSchema: { properties: { b: {}, a: {} }, type: 'object' }, name: 't' }], temperature: 0 },
    );
    expect(cache.key(a)).toBe(cache.key(b));
  });

  it('treats CRLF, CR and LF the same', () => {
    expect(cache.key(chat(messages('line one\r\nline two\rline three')))).toBe(
      cache.key(chat(messages('line one\nline two\nline three'))),
    );
  });

  it('treats NFD and NFC the same', () => {
    const nfd = 'cafe\u0301 cre\u0300me';
    const nfc = nfd.normalize('NFC');
    expect(nfd).not.toBe(nfc);
    expect(cache.key(chat(messages(nfd)))).toBe(cache.key(chat(messages(nfc))));
  });

  it('trims the ends of text parts', () => {
    expect(cache.key(chat(messages('  hi there \n')))).toBe(cache.key(chat(messages('hi there'))));
    expect(cache.key(chat(' plain prompt '))).toBe(cache.key(chat('plain prompt')));
  });

  it('hashes bytes the same whether Uint8Array, Buffer, ArrayBuffer, base64 or a data URL', () => {
    const file = (data: unknown) => chat([{ role: 'user', content: [{ type: 'file', mediaType: 'image/png', data }] }]);
    const base64 = Buffer.from(PNG).toString('base64');
    const keys = [
      cache.key(file(PNG)),
      cache.key(file(Buffer.from(PNG))),
      cache.key(file(PNG.buffer.slice(0))),
      cache.key(file(base64)),
      cache.key(file(`data:image/png;base64,${base64}`)),
      // ai@7 wraps prompt file data in { type: 'data', data }.
      cache.key(file({ type: 'data', data: base64 })),
    ];
    // The ai@7 wrapper object is a different shape, so compare it with its own Uint8Array form.
    expect(new Set(keys.slice(0, 5)).size).toBe(1);
    expect(keys[5]).toBe(cache.key(file({ type: 'data', data: PNG })));
  });

  it('hashes data URLs inside OpenAI-style image_url parts like raw bytes', () => {
    const base64 = Buffer.from(PNG).toString('base64');
    const viaUrl = chat([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } }] },
    ]);
    const again = chat([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } }] },
    ]);
    expect(cache.key(viaUrl)).toBe(cache.key(again));
  });
});

describe('cache.key: what must split keys', () => {
  const cache = createCache();
  const base = chat(messages('hi'), {
    temperature: 0,
    tools: [{ type: 'function', name: 'weather', inputSchema: { type: 'object' } }],
    toolChoice: { type: 'auto' },
    responseFormat: { type: 'text' },
    providerOptions: { openai: { reasoningEffort: 'low' } },
  });
  const variants: Record<string, CacheRequest> = {
    model: { ...base, model: 'gpt-4o-mini' },
    provider: { ...base, provider: 'anthropic.messages' },
    kind: { ...base, kind: 'embedding' },
    specVersion: { ...base, specVersion: 'v4' },
    endpoint: { ...base, endpoint: 'https://eu.example.com/v1' },
    temperature: { ...base, params: { ...base.params, temperature: 0.7 } },
    tools: {
      ...base,
      params: { ...base.params, tools: [{ type: 'function', name: 'weather2', inputSchema: { type: 'object' } }] },
    },
    toolChoice: { ...base, params: { ...base.params, toolChoice: { type: 'required' } } },
    responseFormat: { ...base, params: { ...base.params, responseFormat: { type: 'json' } } },
    providerOptions: { ...base, params: { ...base.params, providerOptions: { openai: { reasoningEffort: 'high' } } } },
    prompt: { ...base, input: messages('hi!') },
    codeIndentation: { ...base, input: messages('```py\nif x:\n    y()\n```') },
  };

  for (const [name, request] of Object.entries(variants)) {
    it(`a different ${name} gives a different key`, () => {
      expect(cache.key(request)).not.toBe(cache.key(base));
    });
  }

  it('keeps indentation inside code blocks (default normalization)', () => {
    const two = messages('```py\nif x:\n  y()\n```');
    const four = messages('```py\nif x:\n    y()\n```');
    expect(cache.key(chat(two))).not.toBe(cache.key(chat(four)));
  });

  it('two endpoints never share a key, and naming none keeps the digest of a request without one', () => {
    const a = cache.key({ ...base, endpoint: 'http://h/llama-8b/v1' });
    const b = cache.key({ ...base, endpoint: 'http://h/llama-70b/v1' });
    expect(a).not.toBe(b);
    expect(a).not.toBe(cache.key(base));
    expect(cache.key({ ...base, endpoint: undefined })).toBe(cache.key(base));
    // The endpoint is hashed, never written in the key: it can hold host names.
    expect(a).not.toContain('llama');
    // An endpoint string cannot be forged from params, nor params from an endpoint.
    expect(cache.key({ ...base, endpoint: '' })).not.toBe(cache.key(base));
    expect(() => cache.key({ ...base, endpoint: 42 as unknown as string })).toThrow(LlmemoError);
  });

  it('a different namespace gives a different key', () => {
    expect(cache.key(base, { namespace: 'tenant-a' })).not.toBe(cache.key(base, { namespace: 'tenant-b' }));
  });

  it('any byte of an image changes the key', () => {
    const other = PNG.slice();
    other[15] = 83;
    const file = (data: Uint8Array) =>
      chat([{ role: 'user', content: [{ type: 'file', mediaType: 'image/png', data }] }]);
    expect(cache.key(file(PNG))).not.toBe(cache.key(file(other)));
  });

  it("normalize: 'none' keeps exact bytes; collapseWhitespace merges runs", () => {
    const exact = createCache({ normalize: 'none' });
    expect(exact.key(chat(messages('a\r\nb')))).not.toBe(exact.key(chat(messages('a\nb'))));
    expect(exact.key(chat(messages(' a')))).not.toBe(exact.key(chat(messages('a'))));
    const collapsing = createCache({ normalize: { collapseWhitespace: true } });
    expect(collapsing.key(chat(messages('a   b\n\n c')))).toBe(collapsing.key(chat(messages('a b c'))));
  });
});

describe('cache.key: transport noise and credentials never reach the key', () => {
  const cache = createCache();
  const base = chat(messages('hi'), { temperature: 0 });

  it('ignores abort signals, timeouts, retries, raw-chunk flags and API keys', () => {
    const noisy = chat(messages('hi'), {
      temperature: 0,
      abortSignal: new AbortController().signal,
      signal: AbortSignal.timeout(1000),
      timeout: 5000,
      maxRetries: 3,
      includeRawChunks: true,
      apiKey: 'sk-secret',
    });
    expect(cache.key(noisy)).toBe(cache.key(base));
  });

  it('ignores headers except the allowlist', () => {
    const withUa = chat(messages('hi'), {
      temperature: 0,
      headers: { 'user-agent': 'ai/6.0.1', authorization: 'Bearer x', 'x-trace': '1' },
    });
    expect(cache.key(withUa)).toBe(cache.key(base));
    const beta = chat(messages('hi'), { temperature: 0, headers: { 'Anthropic-Beta': 'tools-2024' } });
    expect(cache.key(beta)).not.toBe(cache.key(base));
    const custom = createCache({ includeHeaders: ['x-feature'] });
    expect(custom.key(chat(messages('hi'), { headers: { 'x-feature': 'on' } }))).not.toBe(
      custom.key(chat(messages('hi'))),
    );
  });

  it('ignores our own per-call options in providerOptions.llmemo', () => {
    const a = chat(messages('hi'), { providerOptions: { openai: { user: 'u' }, llmemo: { ttl: '1h' } } });
    const b = chat(messages('hi'), { providerOptions: { openai: { user: 'u' } } });
    expect(cache.key(a)).toBe(cache.key(b));
  });

  it('lets users exclude more params or replace key derivation', () => {
    const excluding = createCache({ excludeParams: ['user'] });
    expect(excluding.key(chat('x', { user: 'a' }))).toBe(excluding.key(chat('x', { user: 'b' })));
    const custom = createCache({ key: (request) => String(request.model) });
    expect(custom.key(chat('x'))).toBe(custom.key(chat('y')));
  });
});

describe('stored keys', () => {
  const cache = createCache({ namespace: 'acme' });

  it('has the documented layout and never contains prompt text', () => {
    const secret = 'the launch code is swordfish';
    const key = cache.key(chat(messages(secret)));
    expect(key).toMatch(/^llmemo:v2:acme:chat:openai\.chat:gpt-4o:[0-9a-f]{64}$/);
    expect(key).not.toContain('swordfish');
  });

  it('is deterministic across processes and Node versions (pinned digest)', () => {
    // The canonical text is the one the spec in packages/core/README.md derives by hand; the digest is pinned so a
    // change to canonicalization cannot slip through without bumping KEY_VERSION.
    const canonical =
      '{"input":"hello","kind":"chat","model":"m","params":{"temperature":0},"provider":"p","specVersion":null}';
    const digest = createHash('sha256').update(canonical).digest('hex');
    expect(digest).toBe('9608bc5ab1d65c34961e061c052bb5882e9d94fea34b59b57aa996142855bf78');
    const key = createCache().key({
      kind: 'chat',
      provider: 'p',
      model: 'm',
      input: '  hello\r\n',
      params: { temperature: 0 },
    });
    expect(key).toBe(`llmemo:v2:default:chat:p:m:${digest}`);
  });

  it('pins the v2 file-field rules: bytes tokens, a data URL keeps its media type, prompt text stays text', () => {
    // The second worked example of the spec: base64 in a file part (its media type is a sibling property), a data
    // URL in an image_url (its media type goes into the token), and a text part that merely looks like a data URL.
    const bytes = createHash('sha256')
      .update(Uint8Array.from([0, 1, 2]))
      .digest('hex');
    expect(bytes).toBe('ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc');
    const canonical = `{"input":[{"data":#bytes:${bytes}:3,"mediaType":"image/png","type":"file"},{"image_url":{"url":#bytes:${bytes}:3:"image/jpeg"},"type":"image_url"},{"text":"data:,hi","type":"text"}],"kind":"chat","model":"m","params":{},"provider":"p","specVersion":null}`;
    const digest = createHash('sha256').update(canonical).digest('hex');
    expect(digest).toBe('7223ac11925d2cf4c822eef5e20dd6e9d7514cdcc0735837ba05c58f5695bfc2');
    const key = createCache().key({
      kind: 'chat',
      provider: 'p',
      model: 'm',
      input: [
        { type: 'file', mediaType: 'image/png', data: 'AAEC' },
        { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAEC' } },
        { type: 'text', text: ' data:,hi ' },
      ],
    });
    expect(key).toBe(`llmemo:v2:default:chat:p:m:${digest}`);
  });

  it('escapes labels so ids with : % _ / cannot collide or widen a prefix', () => {
    const ids = ['ft:gpt-4o:org:x', 'ft_gpt-4o_org_x', 'ft%gpt', 'ft/gpt', 'a:b', 'a', 'a~3Ab', 'ümlaut', ''];
    const escaped = ids.map(escapeLabel);
    expect(new Set(escaped).size).toBe(ids.length);
    for (const label of escaped) expect(label).toMatch(/^[A-Za-z0-9.~-]+$/);
    for (const id of ids) expect(unescapeLabel(escapeLabel(id))).toBe(id);

    const a = cache.key({ kind: 'chat', provider: 'p', model: 'a:b', input: 'x' }, { namespace: 'n' });
    const b = cache.key({ kind: 'chat', provider: 'p:a', model: 'b', input: 'x' }, { namespace: 'n' });
    expect(a).not.toBe(b);
    // Namespace 'user_1' must not prefix-match 'userX1' (SQL LIKE) nor 'user' match 'user2'.
    expect(keyPrefix({ namespace: 'user_1' })).toBe('llmemo:v2:user~5F1:');
    expect(
      cache
        .key({ kind: 'chat', provider: 'p', model: 'm', input: 'x' }, { namespace: 'userX1' })
        .startsWith(keyPrefix({ namespace: 'user_1' })),
    ).toBe(false);
    expect(parseKey(a)).toMatchObject({ namespace: 'n', kind: 'chat', provider: 'p', model: 'a:b' });
  });
});

describe('unkeyable requests', () => {
  const cache = createCache();
  it.each([
    ['a function', { fn: () => 1 }],
    ['a symbol', { s: Symbol('x') }],
    ['a Map', { m: new Map() }],
  ])('throws UNSERIALIZABLE_REQUEST for %s', (_name, params) => {
    expect(() => cache.key(chat('x', params as Record<string, unknown>))).toThrowError(
      expect.objectContaining({ code: 'UNSERIALIZABLE_REQUEST' }),
    );
  });
  it('throws UNSERIALIZABLE_REQUEST for a circular request', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    let error: unknown;
    try {
      cache.key(chat('x', circular));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LlmemoError);
    expect((error as LlmemoError).code).toBe('UNSERIALIZABLE_REQUEST');
  });
});
