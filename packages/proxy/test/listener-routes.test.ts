import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { type AnthropicTestServer, createAnthropicTestServer } from '@llmemo/test-support/anthropic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../src/access-log.js';
import { listenerOf } from '../src/proxy.js';
import { ask, type Reply, useBothPaths } from './both-paths.js';
import { ADMIN_TOKEN, apiKey, useHarness, user } from './helpers.js';

const h = useHarness();
const { bothPaths, listen } = useBothPaths(h);
const anthropic: { server?: AnthropicTestServer } = {};
beforeAll(async () => {
  anthropic.server = await createAnthropicTestServer();
});
afterAll(async () => {
  await anthropic.server?.close();
});

const json = { 'content-type': 'application/json' };
const chat = (content: string, extra: object = {}) =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: user(content), ...extra });
const message = (content: string, extra: object = {}) =>
  JSON.stringify({ model: 'claude-test', max_tokens: 16, messages: user(content), ...extra });
const embed = (input: unknown) => JSON.stringify({ model: 'text-embedding-3-small', input });

/** Each hot route with a plain and a streamed body where it has one. */
const HOT: [string, (content: string) => string][] = [
  ['/v1/chat/completions', (c) => chat(c)],
  ['/v1/chat/completions', (c) => chat(c, { stream: true })],
  ['/v1/chat/completions', (c) => chat(c, { stream: true, stream_options: { include_usage: true } })],
  ['/v1/messages', (c) => message(c)],
  ['/v1/messages', (c) => message(c, { stream: true })],
  ['/v1/embeddings', (c) => embed(c)],
  ['/v1/embeddings', (c) => embed([c, `${c} again`])],
];

/** The parts of an access log line both paths must agree on (not the timings). */
function logged(entries: AccessLogEntry[]) {
  return entries.map(({ durationMs: _d, upstreamMs: _u, ...rest }) => rest);
}

describe('the Node path of the hot routes answers as the fetch path', () => {
  it('every hot route: written on one path, hit on both with the same status, headers, body and log line', async () => {
    const entries: AccessLogEntry[] = [];
    const { listener, fetchPath } = await bothPaths({
      accessLog: (entry) => entries.push(entry),
      anthropicUpstream: anthropic.server!.origin,
    });
    for (const [index, [path, body]] of HOT.entries()) {
      const headers = { ...json, authorization: `Bearer ${apiKey()}` };
      const first = await ask(index % 2 === 0 ? listener : fetchPath, path, headers, body(`route ${index}`));
      expect(first.status, `${path} ${index}`).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      entries.length = 0;
      const viaListener = await ask(listener, path, headers, body(`route ${index}`));
      const viaFetch = await ask(fetchPath, path, headers, body(`route ${index}`));
      expect(viaListener.headers['x-cache'], `${path} ${index}`).toBe('HIT');
      expect(viaListener, `${path} ${index}`).toEqual(viaFetch);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [one, two] = logged(entries);
      expect(one).toEqual(two);
      expect(one?.path).toBe(path);
    }
  });

  it('refuses alike on every hot route: size, budget, namespace, own tokens, directives, JSON', async () => {
    const { listener, fetchPath } = await bothPaths({
      maxBodyBytes: 4096,
      namespaceToken: 'ns-token-0123456789abcdef',
    });
    const key = `Bearer ${apiKey()}`;
    const refusals: [Record<string, string | string[]>, (path: string) => string, string?][] = [
      [{ authorization: key }, () => 'x'.repeat(8192)],
      [{ authorization: key, 'x-llmemo-namespace': ' ' }, () => ''],
      [{ authorization: `Bearer ${ADMIN_TOKEN}` }, () => ''],
      [{ 'x-api-key': ADMIN_TOKEN }, () => ''],
      [{ authorization: key }, () => '', `?key=${ADMIN_TOKEN}`],
      [{ authorization: 'Bearer ns-token-0123456789abcdef' }, () => ''],
      [{ authorization: key, 'x-llmemo-namespace-token': 'wrong', 'x-llmemo-namespace': 'team' }, () => ''],
      [{ authorization: key, 'cache-control': ['max-age=5', 'only-if-cached'] }, () => ''],
      [{ authorization: key, 'cache-control': 'max-age=soon' }, () => ''],
      [{ authorization: key, 'x-llmemo-mode': 'sometimes' }, () => ''],
      [{ authorization: key, 'x-llmemo-mode': 'replay' }, () => ''],
      [{ 'x-llmemo-mode': 'replay' }, () => ''],
      [{ authorization: key }, () => '{"model": '],
    ];
    for (const [path, body] of [HOT[0]!, HOT[3]!, HOT[5]!]) {
      for (const [index, [headers, override, query = '']] of refusals.entries()) {
        const sent = override(path) || body(`refusal ${index}`);
        const all = { ...json, ...headers };
        const viaListener = await ask(listener, path + query, all, sent);
        const viaFetch = await ask(fetchPath, path + query, all, sent);
        expect(viaListener.status, `${path} refusal ${index}`).toBeGreaterThanOrEqual(400);
        expect(viaListener, `${path} refusal ${index}`).toEqual(viaFetch);
      }
    }
  });

  it('answers a failure of the proxy itself (500 proxy_error, logged) alike', async () => {
    const logs: string[] = [];
    const logger = { error: (message: string) => logs.push(message), warn: () => {}, info: () => {} };
    const { listener, fetchPath, proxy } = await bothPaths({ logger });
    // A store that throws on every read: core answers through it (the breaker), so break the handler instead.
    (proxy.cache as unknown as { lookup: unknown }).lookup = () => {
      throw new Error('boom');
    };
    const headers = { ...json, authorization: `Bearer ${apiKey()}` };
    const replies: Reply[] = [];
    for (const port of [listener, fetchPath]) {
      replies.push(await ask(port, '/v1/chat/completions', headers, chat('fails', { stream: true })));
    }
    expect(replies[0]!.status).toBe(500);
    expect(replies[0]!.headers['x-llmemo-error']).toBe('proxy_error');
    expect(replies[0]).toEqual(replies[1]);
    expect(logs).toEqual([
      'llmemo-proxy: POST /v1/chat/completions failed: boom',
      'llmemo-proxy: POST /v1/chat/completions failed: boom',
    ]);
  });
});

describe('tenancy on the Node path', () => {
  it('requests differing only in a credential never share an entry, on either path', async () => {
    const { listener, fetchPath } = await bothPaths();
    const same = apiKey();
    const variants: [Record<string, string | string[]>, string][] = [
      [{ authorization: `Bearer ${same}` }, ''],
      [{ authorization: `Bearer ${apiKey()}` }, ''],
      [{ 'api-key': apiKey() }, ''],
      [{ 'x-api-key': apiKey() }, ''],
      [{}, `?key=${apiKey()}`],
      [{}, `?api-key=${apiKey()}`],
      [{ authorization: [`Bearer ${same}`, 'Bearer other'] }, ''],
      [{ authorization: `Bearer ${same}`, cookie: 'session=1' }, ''],
    ];
    for (const port of [listener, fetchPath]) {
      const namespaces = new Set<string>();
      for (const [headers, query] of variants) {
        const reply = await ask(port, `/v1/chat/completions${query}`, { ...json, ...headers }, chat(`tenant ${port}`));
        expect(reply.headers['x-cache'], JSON.stringify(headers) + query).toBe('MISS');
        namespaces.add(String(reply.headers['x-llmemo-namespace']));
      }
      expect(namespaces.size).toBe(variants.length);
    }
  });

  it('repeated Authorization lines: the Node path reads them as the fetch path does (both lines, one tenant)', async () => {
    const { listener, fetchPath } = await bothPaths();
    const key = apiKey();
    const twice = { ...json, authorization: [`Bearer ${key}`, 'Bearer second'] };
    const joined = { ...json, authorization: `Bearer ${key}, Bearer second` };
    const first = await ask(listener, '/v1/chat/completions', twice, chat('two lines'));
    expect(first.headers['x-cache']).toBe('MISS');
    for (const port of [listener, fetchPath]) {
      for (const headers of [twice, joined]) {
        const again = await ask(port, '/v1/chat/completions', headers, chat('two lines'));
        expect(again.headers['x-cache']).toBe('HIT');
        expect(again.headers['x-llmemo-namespace']).toBe(first.headers['x-llmemo-namespace']);
      }
      const alone = await ask(
        port,
        '/v1/chat/completions',
        { ...json, authorization: `Bearer ${key}` },
        chat('two lines'),
      );
      expect(alone.headers['x-llmemo-namespace']).not.toBe(first.headers['x-llmemo-namespace']);
    }
  });
});

describe('which requests take the Node path', () => {
  it('plain hot requests never reach the adapter; any other spelling does, and is answered the same', async () => {
    const { proxy } = await bothPaths();
    const adapter = getRequestListener(proxy.fetch);
    let adapted = 0;
    const counted = (req: IncomingMessage, res: ServerResponse) => {
      adapted++;
      return adapter(req, res);
    };
    const port = await listen(createServer(listenerOf(proxy, counted)));
    const headers = { ...json, authorization: `Bearer ${apiKey()}` };
    const plain = await ask(port, '/v1/chat/completions?x=1', headers, chat('paths'));
    expect(adapted).toBe(0);
    expect(plain.headers['x-cache']).toBe('MISS');
    const spellings = ['/v1/chat/%63ompletions?x=1', '/v1/chat/completions?x=1&q=%22a%22#f', '/v1/embeddings/'];
    for (const path of spellings) await ask(port, path, headers, chat('paths'));
    expect(adapted).toBe(spellings.length);
    await proxy.flush();
    expect((await ask(port, '/v1/chat/completions?x=1', headers, chat('paths'))).headers['x-cache']).toBe('HIT');
    await ask(port, '/v1/chat/completions', { ...headers, host: 'LOCALHOST:1' }, chat('paths'));
    await ask(port, '/healthz', {}, '', 'GET');
    expect(adapted).toBe(spellings.length + 2);
    expect(adapted).toBeGreaterThan(0);
  });
});
