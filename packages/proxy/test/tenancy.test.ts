import { createHash } from 'node:crypto';
import { redisUrl } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { ask, bearer, secretKey, stored, useEchoUpstream } from './attack.js';
import { startProcess } from './process.js';

const upstream = useEchoUpstream({ basePaths: ['/llama-8b', '/llama-70b'] });
const CHAT = '/v1/chat/completions';

describe('issue 10 item 1: a namespace name is not a way in', () => {
  it('a namespace learned from a response reads nothing without the key, and cannot be overwritten with another key', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const victim = secretKey('victim');
    const first = await ask(proxy, { headers: bearer(victim) });
    expect(first.cache).toBe('MISS');
    expect(first.text).toContain(`authorization=…${victim.slice(-6)}`);
    await stored(proxy, { headers: bearer(victim) });
    const learned = first.namespace!;
    expect(learned).toMatch(/^key-[0-9a-f]{32}$/);

    // No key at all, the victim's namespace named: goes upstream uncached, never the victim's answer.
    const anonymous = await ask(proxy, { headers: { 'x-llmemo-namespace': learned } });
    expect(anonymous.cache).toBe('BYPASS');
    expect(anonymous.text).not.toContain(victim.slice(-6));

    // Another key naming the victim's namespace, in refresh mode: writes only inside its own namespace.
    const attacker = secretKey('attacker');
    const overwrite = await ask(proxy, {
      headers: { ...bearer(attacker), 'x-llmemo-namespace': learned, 'x-llmemo-mode': 'refresh' },
    });
    expect(overwrite.text).toContain(attacker.slice(-6));
    expect(overwrite.namespace).not.toBe(learned);
    await stored(proxy, { headers: { ...bearer(attacker), 'x-llmemo-namespace': learned } });
    const read = await ask(proxy, { headers: { ...bearer(attacker), 'x-llmemo-namespace': learned } });
    expect(read.text).toContain(attacker.slice(-6));

    // The victim still gets its own first answer.
    const again = await ask(proxy, { headers: bearer(victim) });
    expect(again.cache).toBe('HIT');
    expect(again.text).toBe(first.text);
  });

  it('namespaces are HMACs under a server secret, shared through the store, not sha256 of the key', async () => {
    const store = redisUrl();
    const one = await startProcess(['--upstream', upstream.server.url, '--store', store]);
    const two = await startProcess(['--upstream', upstream.server.url, '--store', store]);
    const key = secretKey('shared-store');
    const prompt = `hmac ${key}`;
    const written = await ask(one, { headers: bearer(key), prompt });
    const plainHash = `key-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
    expect(written.namespace).not.toBe(plainHash);
    await stored(one, { headers: bearer(key), prompt });
    // A second proxy on the same Redis derives the same namespace (the secret is kept in the store).
    const shared = await ask(two, { headers: bearer(key), prompt });
    expect(shared).toMatchObject({ cache: 'HIT', namespace: written.namespace, text: written.text });
    // An operator-given secret derives other names: nothing written under the stored one is reachable.
    const other = await startProcess(['--upstream', upstream.server.url, '--store', store], {
      LLMEMO_NAMESPACE_SECRET: 'another-secret-of-at-least-16-chars',
    });
    const separate = await ask(other, { headers: bearer(key), prompt });
    expect(separate.cache).toBe('MISS');
    expect(separate.namespace).not.toBe(written.namespace);
  });

  it('x-llmemo-namespace is a sub-namespace of the caller’s own: two keys naming one team never share', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const team = { 'x-llmemo-namespace': 'team-a' };
    const a = secretKey('a');
    const b = secretKey('b');
    const first = await ask(proxy, { headers: { ...bearer(a), ...team } });
    await stored(proxy, { headers: { ...bearer(a), ...team } });
    expect(first.namespace).toMatch(/^key-[0-9a-f]{32}\/team-a$/);
    const other = await ask(proxy, { headers: { ...bearer(b), ...team } });
    expect(other.cache).toBe('MISS');
    expect(other.text).toContain(b.slice(-6));
    // The sub-namespace is apart from the key's own namespace too.
    expect((await ask(proxy, { headers: bearer(a) })).cache).toBe('MISS');
    // A header the proxy cannot take as one label is refused before anything goes upstream.
    const count = upstream.server.count(CHAT);
    const bad = await ask(proxy, { headers: { ...bearer(a), 'x-llmemo-namespace': 'a\u00e9' } });
    expect(bad.status).toBe(400);
    expect(upstream.server.count(CHAT)).toBe(count);
  });

  it('only a caller holding the operator’s namespace token names a shared namespace outright', async () => {
    const token = 'namespace-token-0123456789abcdef';
    const proxy = await startProcess(['--upstream', upstream.server.url], { LLMEMO_NAMESPACE_TOKEN: token });
    const shared = { 'x-llmemo-namespace': 'team-shared', 'x-llmemo-namespace-token': token };
    const first = await ask(proxy, { headers: { ...bearer(secretKey('a')), ...shared } });
    expect(first.namespace).toBe('team-shared');
    const hit = await stored(proxy, { headers: { ...bearer(secretKey('b')), ...shared } });
    expect(hit.text).toBe(first.text);
    const wrong = await ask(proxy, {
      headers: { ...bearer(secretKey('c')), ...shared, 'x-llmemo-namespace-token': 'not-the-token-0123456789' },
    });
    expect(wrong.status).toBe(403);
    // A credential namespace cannot be named even with the token.
    const derived = await ask(proxy, {
      headers: { ...shared, 'x-llmemo-namespace': first.namespace!.replace('team-shared', 'key-0123') },
    });
    expect(derived.status).toBe(400);
    // The token never reaches the upstream.
    for (const request of upstream.server.requests) {
      expect(JSON.stringify(request.headers)).not.toContain(token);
    }
  });
});

describe('issue 10 item 2: every common credential form is a tenant', () => {
  const forms: [string, (value: string) => { headers?: Record<string, string>; path?: string }][] = [
    ['x-goog-api-key', (value) => ({ headers: { 'x-goog-api-key': value } })],
    ['Ocp-Apim-Subscription-Key', (value) => ({ headers: { 'Ocp-Apim-Subscription-Key': value } })],
    ['cf-aig-authorization', (value) => ({ headers: { 'cf-aig-authorization': `Bearer ${value}` } })],
    ['?api-key=', (value) => ({ path: `${CHAT}?api-key=${value}` })],
    ['?key=', (value) => ({ path: `${CHAT}?key=${value}` })],
    ['cookies', (value) => ({ headers: { cookie: `session=${value}; theme=dark` } })],
    ['x-api-key', (value) => ({ headers: { 'x-api-key': value } })],
    ['api-key', (value) => ({ headers: { 'api-key': value } })],
  ];

  it.each(forms)('%s: another tenant’s credential misses, the owner hits', async (_name, form) => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const a = secretKey('tenant-a');
    const b = secretKey('tenant-b');
    const first = await ask(proxy, form(a));
    expect(first.cache).toBe('MISS');
    await stored(proxy, form(a));
    const other = await ask(proxy, form(b));
    expect(other.cache).toBe('MISS');
    expect(other.text).not.toBe(first.text);
    // No credential at all: straight to the upstream, every time, and never anyone's entry.
    const none = await ask(proxy, {});
    expect(none).toMatchObject({ cache: 'BYPASS', bypass: 'no-credential' });
    expect((await ask(proxy, {})).text).not.toBe(none.text);
    expect((await ask(proxy, form(a))).text).toBe(first.text);
  });

  it('operators name more credential headers and parameters; a shared anonymous namespace is opt-in', async () => {
    const proxy = await startProcess([
      '--upstream',
      upstream.server.url,
      '--credential-headers',
      'X-Tenant-Token',
      '--anonymous-namespace',
      'public',
    ]);
    const a = await ask(proxy, { headers: { 'x-tenant-token': 'tenant-one' } });
    await stored(proxy, { headers: { 'x-tenant-token': 'tenant-one' } });
    const b = await ask(proxy, { headers: { 'x-tenant-token': 'tenant-two' } });
    expect(b.cache).toBe('MISS');
    expect(b.text).not.toBe(a.text);
    const open = await ask(proxy, { prompt: 'public question' });
    expect(open).toMatchObject({ cache: 'MISS', namespace: 'public' });
    expect((await stored(proxy, { prompt: 'public question' })).text).toBe(open.text);

    const env = await startProcess(['--upstream', upstream.server.url], { LLMEMO_CREDENTIAL_PARAMS: 'token' });
    await ask(env, { path: `${CHAT}?token=one` });
    await stored(env, { path: `${CHAT}?token=one` });
    expect((await ask(env, { path: `${CHAT}?token=two` })).cache).toBe('MISS');
  });
});

describe('issue 10 item 3: what the upstream sees is what is keyed', () => {
  it('two proxies on one Redis with upstreams that differ only by base path never share', async () => {
    const server = upstream.server;
    const base = server.origin;
    const store = redisUrl();
    const small = await startProcess(['--upstream', `${base}/llama-8b/v1`, '--store', store]);
    const large = await startProcess(['--upstream', `${base}/llama-70b/v1`, '--store', store]);
    const key = secretKey('base-path');
    const eight = await ask(small, { headers: bearer(key) });
    expect(eight.text).toContain('/llama-8b/v1/chat/completions');
    await stored(small, { headers: bearer(key) });
    const seventy = await ask(large, { headers: bearer(key) });
    expect(seventy.cache).toBe('MISS');
    expect(seventy.text).toContain('/llama-70b/v1/chat/completions');
  });

  it('the query string is keyed in canonical order; credential parameters pick the namespace instead', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const key = bearer(secretKey('query'));
    const v1 = await ask(proxy, { headers: key, path: `${CHAT}?api-version=2024-01-01&b=2` });
    await stored(proxy, { headers: key, path: `${CHAT}?api-version=2024-01-01&b=2` });
    const v2 = await ask(proxy, { headers: key, path: `${CHAT}?api-version=2024-06-01&b=2` });
    expect(v2.cache).toBe('MISS');
    expect(v2.text).toContain('2024-06-01');
    const reordered = await ask(proxy, { headers: key, path: `${CHAT}?b=2&api-version=2024-01-01` });
    expect(reordered).toMatchObject({ cache: 'HIT', text: v1.text });
  });

  it('output-changing headers (openai-beta, anthropic-beta) split keys; the official client sends them', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const key = secretKey('beta');
    const plain = proxy.client(key);
    const beta = proxy.client(key, { defaultHeaders: { 'openai-beta': 'assistants=v2' } });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'beta?' }] };
    const first = await plain.chat.completions.create(params);
    await stored(proxy, { headers: bearer(key), prompt: 'beta?' });
    const flagged = await beta.chat.completions.create(params).withResponse();
    expect(flagged.response.headers.get('x-cache')).toBe('MISS');
    expect(flagged.data.choices[0]!.message.content).toContain('openai-beta=assistants=v2');
    expect(flagged.data.choices[0]!.message.content).not.toBe(first.choices[0]!.message.content);
    const anthropic = await ask(proxy, { headers: { ...bearer(key), 'anthropic-beta': 'x' }, prompt: 'beta?' });
    expect(anthropic.cache).toBe('MISS');
  });

  it('the raw body as the upstream reads it: big integers, duplicate keys, invalid UTF-8, SDK-only names', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const key = bearer(secretKey('raw'));
    const messages = '[{"role":"user","content":"seeded"}]';
    const withSeed = (seed: string) => `{"model":"gpt-4o-mini","messages":${messages},"seed":${seed}}`;
    const odd = await ask(proxy, { headers: key, body: withSeed('9007199254740993') });
    await stored(proxy, { headers: key, body: withSeed('9007199254740993') });
    const even = await ask(proxy, { headers: key, body: withSeed('9007199254740992') });
    expect(even.cache).toBe('MISS');
    expect(even.text).not.toBe(odd.text);

    const duplicate = `{"model":"gpt-4o-mini","messages":${messages},"temperature":0,"temperature":1}`;
    const dup = await ask(proxy, { headers: key, body: duplicate });
    expect(dup).toMatchObject({ cache: 'BYPASS', bypass: 'duplicate-keys' });
    expect((await ask(proxy, { headers: key, body: duplicate })).cache).toBe('BYPASS');

    const bytes = Buffer.concat([
      Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"bad '),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}]}'),
    ]);
    const invalid = await ask(proxy, { headers: key, body: new Uint8Array(bytes) });
    expect(invalid).toMatchObject({ cache: 'BYPASS', bypass: 'invalid-utf8' });

    // Core leaves `timeout`, `api_key` and non-allowlisted `headers` out of SDK params; in a raw body they reach the
    // upstream, so they split keys.
    for (const field of ['timeout', 'api_key', 'headers']) {
      const body = (value: unknown) => ({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `field ${field}` }],
        [field]: value,
      });
      await ask(proxy, { headers: key, body: body({ v: 1 }) });
      await stored(proxy, { headers: key, body: body({ v: 1 }) });
      expect((await ask(proxy, { headers: key, body: body({ v: 2 }) })).cache).toBe('MISS');
    }
  });
});
