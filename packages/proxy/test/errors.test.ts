import { isLlmemoError, isTransientError } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { createProxy, type RunningProxy } from '../src/index.js';
import { PassThrough, UpstreamReply, UpstreamUnreachable } from '../src/upstream.js';
import { apiKey, originOf, post, useHarness, user } from './helpers.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';

function expectOpenAIError(body: unknown) {
  expect(body).toEqual({
    error: {
      message: expect.any(String),
      type: expect.any(String),
      param: expect.toSatisfy((v: unknown) => v === null || typeof v === 'string'),
      code: expect.toSatisfy((v: unknown) => v === null || typeof v === 'string'),
    },
  });
}

describe('bad input', () => {
  it('malformed JSON → 400 with an OpenAI-style error body, nothing sent upstream', async () => {
    const proxy = await h.proxy();
    for (const path of [CHAT, '/v1/embeddings', '/v1/images/generations']) {
      const response = await post(proxy, path, '{"model": "gpt-4o-mini", "messages": [');
      expect(response.status).toBe(400);
      const body = await response.json();
      expectOpenAIError(body);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
      expect(body.error.message).toContain('could not parse the JSON body');
    }
    const empty = await post(proxy, CHAT, '');
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.message).toContain('the body is empty');
    expect(h.server.count()).toBe(0);
  });

  it('the openai client surfaces the proxy error as a BadRequestError with its message', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    await expect(
      client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: user('x') },
        { headers: { 'cache-control': 'max-age=-1' } },
      ),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('max-age') });
  });

  it('an oversize body → 413 (by Content-Length, and by counting a chunked body)', async () => {
    const proxy = await h.proxy({ maxBodyBytes: 1024 });
    const big = { model: 'gpt-4o-mini', messages: user('x'.repeat(2000)) };
    const sized = await post(proxy, CHAT, big);
    expect(sized.status).toBe(413);
    const body = await sized.json();
    expectOpenAIError(body);
    expect(body.error.code).toBe('request_too_large');
    const text = JSON.stringify(big);
    const chunked = await fetch(`${originOf(proxy)}${CHAT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(text.slice(0, 1000)));
          controller.enqueue(new TextEncoder().encode(text.slice(1000)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // A body under the limit still works.
    expect((await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('small') })).status).toBe(200);
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('a JSON body the proxy cannot key is forwarded and the upstream error comes back as is', async () => {
    const proxy = await h.proxy();
    const response = await post(proxy, CHAT, { model: 'gpt-4o-mini' });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-cache')).toBe('BYPASS');
    expect((await response.json()).error).toMatchObject({ param: 'messages', code: 'missing_required_parameter' });
  });
});

describe('upstream failures', () => {
  it('upstream unreachable → 502 with a clear message; the proxy keeps serving and caches no error', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const body = { model: 'gpt-4o-mini', messages: user('outage') };
    await h.server.down();
    try {
      const plain = await post(proxy, CHAT, body, { key });
      expect(plain.status).toBe(502);
      const error = (await plain.json()).error;
      expect(error).toMatchObject({ type: 'upstream_error', code: 'upstream_unreachable' });
      expect(error.message).toContain(h.server.origin);
      expect(error.message).toContain('ECONNREFUSED');
      const streamed = await post(proxy, CHAT, { ...body, stream: true }, { key });
      expect(streamed.status).toBe(502);
      const embeddings = await post(proxy, '/v1/embeddings', { model: 'm', input: 'x' }, { key });
      expect(embeddings.status).toBe(502);
      const other = await fetch(`${originOf(proxy)}/v1/files`, { headers: { authorization: `Bearer ${key}` } });
      expect(other.status).toBe(502);
    } finally {
      await h.server.up();
    }
    const recovered = await post(proxy, CHAT, body, { key });
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get('x-cache')).toBe('MISS');
  });

  it('an upstream that never answers → 504 after the upstream timeout', async () => {
    const proxy = await h.proxy({ upstreamTimeoutMs: 200 });
    h.server.hangNext(1);
    const response = await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('hang') });
    expect(response.status).toBe(504);
    expect((await response.json()).error.code).toBe('upstream_timeout');
  });

  it('the openai client sees a 502 as an APIError with the proxy message', async () => {
    const proxy = await h.proxy();
    await h.server.down();
    try {
      await expect(
        h.client(proxy).chat.completions.create({ model: 'gpt-4o-mini', messages: user('down') }),
      ).rejects.toMatchObject({ status: 502, message: expect.stringContaining('could not reach the upstream') });
    } finally {
      await h.server.up();
    }
  });
});

describe('staleIfError: expired entries answer during upstream outages', () => {
  const expire = async (proxy: RunningProxy) => {
    await proxy.proxy.flush();
    await new Promise((resolve) => setTimeout(resolve, 120));
  };

  it('a non-streamed request gets the expired entry, marked STALE, while the upstream is down', async () => {
    const proxy = await h.proxy({ staleIfError: '1h', endpoints: { chat: { ttl: 100 } } });
    const key = apiKey();
    const body = { model: 'gpt-4o-mini', messages: user('stale later') };
    const first = await (await post(proxy, CHAT, body, { key })).json();
    await expire(proxy);
    await h.server.down();
    try {
      const response = await post(proxy, CHAT, body, { key });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-cache')).toBe('STALE');
      expect(Number(response.headers.get('age'))).toBeGreaterThanOrEqual(0);
      expect((await response.json()).choices[0].message.content).toBe(first.choices[0].message.content);
    } finally {
      await h.server.up();
    }
  });

  it('a streamed request replays the expired entry when the upstream answers 500', async () => {
    const proxy = await h.proxy({ staleIfError: '1h', endpoints: { chat: { ttl: 100 } } });
    const key = apiKey();
    const body = { model: 'gpt-4o-mini', messages: user('stale stream'), stream: true };
    const first = await (await post(proxy, CHAT, body, { key })).text();
    await expire(proxy);
    h.server.failNext(1, { status: 500 });
    const response = await post(proxy, CHAT, body, { key });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-cache')).toBe('STALE');
    const replayed = await response.text();
    expect(replayed).toContain('[DONE]');
    expect(replayed.match(/"content":"[^"]*"/g)).toEqual(first.match(/"content":"[^"]*"/g));
  });

  it('Cache-Control: stale-if-error=N asks for it per request; outside the window the error passes through', async () => {
    const proxy = await h.proxy({ endpoints: { chat: { ttl: 100 } } });
    const key = apiKey();
    const body = { model: 'gpt-4o-mini', messages: user('per request') };
    const headers = { 'cache-control': 'stale-if-error=600' };
    await post(proxy, CHAT, body, { key, headers });
    await expire(proxy);
    h.server.failNext(2, { status: 503 });
    expect((await post(proxy, CHAT, body, { key, headers })).headers.get('x-cache')).toBe('STALE');
    // Without the directive, the same outage is the client's to see.
    const plain = await post(proxy, CHAT, body, { key });
    expect(plain.status).toBe(503);
  });

  it('a rejected request (400) is never papered over with a stale answer', async () => {
    const proxy = await h.proxy({ staleIfError: '1h', endpoints: { chat: { ttl: 100 } } });
    const key = apiKey();
    const body = { model: 'gpt-4o-mini', messages: user('bad later') };
    await post(proxy, CHAT, body, { key });
    await expire(proxy);
    h.server.failNext(1, { status: 400 });
    expect((await post(proxy, CHAT, body, { key })).status).toBe(400);
  });

  it('counts outages, timeouts, 5xx and 429 as upstream failures, not 4xx', () => {
    const reply = (status: number) => new PassThrough(new UpstreamReply(status, {}, new Uint8Array()));
    expect(isTransientError(new UpstreamUnreachable('down', false))).toBe(true);
    expect(isTransientError(reply(503))).toBe(true);
    expect(isTransientError(reply(429))).toBe(true);
    expect(isTransientError(reply(400))).toBe(false);
    expect(isTransientError(new Error('bug'))).toBe(false);
  });
});

describe('options are checked at createProxy', () => {
  const bad: [string, object, RegExp][] = [
    ['missing upstream', {}, /needs `upstream`/],
    ['non-http upstream', { upstream: 'ftp://x' }, /http/],
    ['non-http anthropicUpstream', { upstream: 'http://x', anthropicUpstream: 'ftp://y' }, /anthropicUpstream/],
    [
      'anthropicUpstream with a query',
      { upstream: 'http://x', anthropicUpstream: 'http://y/?k=1' },
      /anthropicUpstream/,
    ],
    ['bad messages ttl', { upstream: 'http://x', endpoints: { messages: { ttl: 'soon' } } }, /endpoints.messages.ttl/],
    ['unknown option', { upstream: 'http://x', ttl: '1h' }, /no option 'ttl'/],
    ['unknown endpoint', { upstream: 'http://x', endpoints: { audio: true } }, /no 'audio'/],
    ['bad endpoint ttl', { upstream: 'http://x', endpoints: { chat: { ttl: 'soon' } } }, /endpoints.chat.ttl/],
    ['bad replay', { upstream: 'http://x', replay: 'slow' }, /replay/],
    ['short admin token', { upstream: 'http://x', adminToken: 'abc' }, /16 characters/],
    ['bad body limit', { upstream: 'http://x', maxBodyBytes: -1 }, /maxBodyBytes/],
    ['bad staleIfError', { upstream: 'http://x', staleIfError: 'later' }, /staleIfError/],
    ['bad cache option', { upstream: 'http://x', cache: { store: 'mongo://x' } }, /store/],
    ['anonymous namespace shaped like a credential one', { upstream: 'http://x', anonymousNamespace: 'key-1' }, /key-/],
    ['malformed Unicode anonymous namespace', { upstream: 'http://x', anonymousNamespace: '\ud800' }, /well-formed/],
    ['short namespace secret', { upstream: 'http://x', namespaceSecret: 'short' }, /16 characters/],
    ['bad credential headers', { upstream: 'http://x', credentialHeaders: 'x-key' }, /credentialHeaders/],
    ['bad body timeout', { upstream: 'http://x', bodyTimeoutMs: 0 }, /bodyTimeoutMs/],
    ['bad access log', { upstream: 'http://x', accessLog: 'stdout' }, /accessLog/],
  ];
  for (const [name, options, message] of bad) {
    it(`rejects ${name}`, () => {
      let thrown: unknown;
      try {
        createProxy(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isLlmemoError(thrown, 'INVALID_OPTIONS')).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    });
  }
});
