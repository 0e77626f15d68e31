import { createCache } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, apiKey, originOf, post, useHarness, user } from './helpers.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';

describe('keys are stable across clients', () => {
  it('a curl-style request (other key order, whitespace, stream flag) hits the entry the openai client wrote', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const client = h.client(proxy, key);
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is a cache?' },
      ],
      temperature: 0,
      max_tokens: 50,
    });
    await proxy.proxy.flush();
    // What a Python or Go client, or curl, might send: keys in another order, pretty-printed, Windows line
    // endings and padding in the prompt text, an explicit stream:false and an end-user id.
    const raw = `{
      "max_tokens" : 50,
      "messages" : [
        { "content" : "Be brief.\\r\\n", "role" : "system" },
        { "role" : "user",   "content" : "  What is a cache?  " }
      ],
      "stream": false,
      "user": "end-user-17",
      "temperature" : 0.0,
      "model" : "gpt-4o-mini"
    }`;
    const response = await post(proxy, CHAT, raw, { key });
    expect(response.headers.get('x-cache')).toBe('HIT');
    expect((await response.json()).choices[0].message.content).toBe('Echo: What is a cache?');
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('any setting that can change the answer is part of the key', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const base = { model: 'gpt-4o-mini', messages: user('settings') };
    await post(proxy, CHAT, base, { key });
    await proxy.proxy.flush();
    for (const variant of [
      { ...base, temperature: 0.5 },
      { ...base, model: 'gpt-4o' },
      { ...base, tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] },
      { ...base, response_format: { type: 'json_object' } },
      { ...base, messages: user('settings!') },
    ]) {
      expect((await post(proxy, CHAT, variant, { key })).headers.get('x-cache')).toBe('MISS');
    }
    expect(h.server.count(CHAT)).toBe(6);
  });

  it('the upstream host is the provider label: one model id at two upstreams never mixes', async () => {
    const cache = createCache();
    const key = apiKey();
    const viaHost = await h.proxy({ cache });
    const viaOrigin = await h.proxy({ cache, upstream: h.server.origin, provider: 'other-gateway' });
    await post(viaHost, CHAT, { model: 'gpt-4o-mini', messages: user('where') }, { key });
    await viaHost.proxy.flush();
    const other = await post(viaOrigin, CHAT, { model: 'gpt-4o-mini', messages: user('where') }, { key });
    expect(other.headers.get('x-cache')).toBe('MISS');
    // An upstream given without /v1 gets the same paths.
    expect((await other.json()).choices[0].message.content).toBe('Echo: where');
    await cache.close();
  });

  it('never stores the Authorization header and forwards it upstream', async () => {
    const cache = createCache();
    const proxy = await h.proxy({ cache });
    const key = apiKey('sk-secret');
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('auth') }, { key });
    await proxy.proxy.flush();
    expect(h.server.requestsTo(CHAT)[0]?.headers.authorization).toBe(`Bearer ${key}`);
    const stored: string[] = [];
    for await (const batch of cache.store.scan('llmemo:'))
      for (const entry of batch) stored.push(entry.key, entry.value);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.join('\n')).not.toContain(key);
    expect(stored.join('\n')).not.toContain('sk-secret');
    await cache.close();
  });
});

describe('isolation', () => {
  it('two API keys never share an entry', async () => {
    const proxy = await h.proxy();
    const body = { model: 'gpt-4o-mini', messages: user('same question') };
    const a = apiKey('sk-a');
    const b = apiKey('sk-b');
    await post(proxy, CHAT, body, { key: a });
    await proxy.proxy.flush();
    expect((await post(proxy, CHAT, body, { key: b })).headers.get('x-cache')).toBe('MISS');
    expect((await post(proxy, CHAT, body, { key: a })).headers.get('x-cache')).toBe('HIT');
    expect(h.server.count(CHAT)).toBe(2);
  });

  it('keys share on purpose only through the operator’s namespace token; x-llmemo-namespace alone stays per key', async () => {
    const token = 'namespace-token-0123456789';
    const team = { 'x-llmemo-namespace': 'team-shared' };
    const body = { model: 'gpt-4o-mini', messages: user('team question') };
    const proxy = await h.proxy({ namespaceToken: token });
    await post(proxy, CHAT, body, { key: apiKey(), headers: team });
    await proxy.proxy.flush();
    expect((await post(proxy, CHAT, body, { key: apiKey(), headers: team })).headers.get('x-cache')).toBe('MISS');
    const trusted = { ...team, 'x-llmemo-namespace-token': token };
    await post(proxy, CHAT, body, { key: apiKey(), headers: trusted });
    await proxy.proxy.flush();
    const other = await post(proxy, CHAT, body, { key: apiKey(), headers: trusted });
    expect(other.headers.get('x-cache')).toBe('HIT');
    expect(other.headers.get('x-llmemo-namespace')).toBe('team-shared');
  });

  it('a purge of one namespace leaves the other intact', async () => {
    const proxy = await h.proxy();
    const body = { model: 'gpt-4o-mini', messages: user('purge me') };
    const a = apiKey('sk-a');
    const b = apiKey('sk-b');
    const namespace = (await post(proxy, CHAT, body, { key: a })).headers.get('x-llmemo-namespace');
    await post(proxy, CHAT, body, { key: b });
    await proxy.proxy.flush();
    const purge = await fetch(`${originOf(proxy)}/admin/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: a }),
    });
    expect(purge.status).toBe(200);
    expect(await purge.json()).toEqual({ deleted: 1, filter: { namespace } });
    expect((await post(proxy, CHAT, body, { key: a })).headers.get('x-cache')).toBe('MISS');
    expect((await post(proxy, CHAT, body, { key: b })).headers.get('x-cache')).toBe('HIT');
  });
});
