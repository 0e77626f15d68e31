import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { answerResponse, headerOf, jsonResponse } from '../src/context.js';
import { createProxy, type LlmemoProxy } from '../src/index.js';
import { ADMIN_TOKEN, apiKey, useHarness, user } from './helpers.js';

describe('headerOf', () => {
  it('reads what Response.headers reads, for answers built here and any other response', () => {
    const built = [
      jsonResponse({ a: 1 }, { 'x-cache': 'HIT', 'x-llmemo-key': 'k' }),
      answerResponse('data: x\n\n', { 'content-type': 'text/event-stream', 'x-cache': 'STALE' }),
      new Response('plain', { headers: { 'x-cache': 'MISS', 'x-llmemo-bypass': 'requested' } }),
      new Response(null, { status: 204 }),
    ];
    for (const response of built) {
      for (const name of ['x-cache', 'x-llmemo-bypass', 'x-llmemo-key', 'content-type']) {
        expect(headerOf(response, name)).toBe(response.headers.get(name));
      }
    }
  });
});

const h = useHarness();
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return (server.address() as AddressInfo).port;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A POST with repeated header lines (arrays), answered in full; `date` is left out of the comparison. */
function ask(port: number, path: string, headers: Record<string, string | string[]>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode!, headers: rest, body: Buffer.concat(parts).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The same proxy on both Node paths: `listener`, and the adapter over `fetch` as a user would mount it. Whatever
 * the listener does on its own (a Node fast path), it must read repeated header lines and answer as `fetch` does.
 */
async function bothPaths(options: Partial<Parameters<typeof createProxy>[0]> = {}) {
  const proxy: LlmemoProxy = createProxy({ upstream: h.server.url, adminToken: ADMIN_TOKEN, ...options });
  cleanup.push(() => proxy.close());
  await proxy.ready();
  const listener = await listen(createServer(proxy.listener));
  const fetchPath = await listen(createServer(getRequestListener(proxy.fetch)));
  return { proxy, listener, fetchPath };
}

const chat = (content: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: user(content) });
const json = { 'content-type': 'application/json' };

describe('proxy.listener and proxy.fetch answer alike', () => {
  it('an entry written on one path is hit on the other, with the same namespace, key, headers and body', async () => {
    const { listener, fetchPath } = await bothPaths();
    const key = apiKey();
    // Repeated lines: Authorization twice, cookies in two lines; both paths must read them as one credential set.
    const headers = { ...json, authorization: [`Bearer ${key}`, 'Bearer second'], cookie: ['b=2', 'a=1'] };
    const miss = await ask(listener, '/v1/chat/completions', headers, chat('both paths'));
    expect(miss.headers['x-cache']).toBe('MISS');
    const viaFetch = await ask(fetchPath, '/v1/chat/completions', headers, chat('both paths'));
    const viaListener = await ask(listener, '/v1/chat/completions', headers, chat('both paths'));
    expect(viaFetch.headers['x-cache']).toBe('HIT');
    expect(viaListener).toEqual(viaFetch);
    expect(viaFetch.headers['x-llmemo-namespace']).toBe(miss.headers['x-llmemo-namespace']);
    expect(h.server.count('/v1/chat/completions')).toBe(1);
    // The second Authorization line counts on both paths: without it the credential set, and so the tenant, differ.
    const single = { ...json, authorization: `Bearer ${key}`, cookie: ['b=2', 'a=1'] };
    for (const port of [listener, fetchPath]) {
      const other = await ask(port, '/v1/chat/completions', single, chat('both paths'));
      expect(other.headers['x-llmemo-namespace']).not.toBe(miss.headers['x-llmemo-namespace']);
    }
  });

  it('forwards the same headers upstream from both paths', async () => {
    const { listener, fetchPath } = await bothPaths();
    const headers = {
      ...json,
      authorization: [`Bearer ${apiKey()}`, 'Bearer second'],
      'cache-control': ['no-cache', 'max-age=60'],
      'x-custom': ['one', 'two'],
    };
    const answers = [];
    for (const port of [listener, fetchPath]) {
      answers.push(await ask(port, '/v1/embeddings', headers, JSON.stringify({ model: 'e', input: ['a', 'b'] })));
    }
    expect(answers.map((answer) => answer.headers['x-cache'])).toEqual(['MISS', 'MISS']);
    const sent = h.server.requestsTo('/v1/embeddings').map(({ headers: { host: _host, ...rest } }) => rest);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual(sent[1]);
    expect(sent[0]!.authorization).toContain('Bearer second');
    expect(sent[0]!['x-custom']).toBe('one, two');
    expect(sent[0]!['cache-control']).toBeUndefined();
  });

  it('refuses alike: oversized body, bad namespace, own token, only-if-cached, bad JSON', async () => {
    const { listener, fetchPath } = await bothPaths({ maxBodyBytes: 2048 });
    const key = `Bearer ${apiKey()}`;
    const cases: [string, Record<string, string | string[]>, string][] = [
      ['/v1/chat/completions', { ...json, authorization: key }, chat('x'.repeat(4096))],
      ['/v1/messages', { ...json, authorization: key, 'x-llmemo-namespace': ' ' }, chat('bad namespace')],
      ['/v1/embeddings', { ...json, authorization: `Bearer ${ADMIN_TOKEN}` }, '{"model":"e","input":"a"}'],
      [
        '/v1/chat/completions',
        { ...json, authorization: key, 'cache-control': ['max-age=5', 'only-if-cached'] },
        chat('o'),
      ],
      ['/v1/chat/completions', { ...json, authorization: key }, '{"model": '],
    ];
    for (const [path, headers, body] of cases) {
      const viaListener = await ask(listener, path, headers, body);
      const viaFetch = await ask(fetchPath, path, headers, body);
      expect(viaListener.status).toBeGreaterThanOrEqual(400);
      expect(viaListener).toEqual(viaFetch);
    }
  });
});
