import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { answerResponse, headerOf, jsonResponse } from '../src/context.js';
import { createProxy, type LlmemoProxy } from '../src/index.js';
import { NodeHeaders, withNodeHeaders } from '../src/node-headers.js';
import { ADMIN_TOKEN, apiKey, useHarness, user } from './helpers.js';

/** What a Web `Headers` built the way @hono/node-server builds it shows: every get, and the iteration. */
function webView(raw: string[], names: string[]) {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) if (!raw[i]!.startsWith(':')) headers.append(raw[i]!, raw[i + 1]!);
  const listed: [string, string][] = [];
  headers.forEach((value, name) => {
    listed.push([name, value]);
  });
  return { gets: names.map((name) => headers.get(name)), listed };
}

function nodeView(raw: string[], names: string[]) {
  const headers = new NodeHeaders(raw);
  const listed: [string, string][] = [];
  headers.forEach((value, name) => {
    listed.push([name, value]);
  });
  return { gets: names.map((name) => headers.get(name)), listed };
}

const NAMES = ['authorization', 'Authorization', 'cookie', 'set-cookie', 'cache-control', 'x-api-key', 'missing'];

describe('NodeHeaders reads raw headers as Web Headers does', () => {
  it('repeats, case, cookies, set-cookie, whitespace and pseudo-headers', () => {
    const cases: string[][] = [
      ['Authorization', 'Bearer a', 'authorization', 'Bearer b'],
      ['Cookie', 'b=2', 'cookie', 'a=1', 'COOKIE', ' c=3 '],
      ['Set-Cookie', 'x=1', 'set-cookie', 'y=2', 'Content-Type', 'application/json'],
      ['Cache-Control', 'no-store', 'cache-control', 'max-age=5', ':path', '/v1/chat/completions'],
      ['X-Api-Key', '\tk1 ', 'x-api-key', '', 'authorization', ''],
      [],
    ];
    for (const raw of cases) expect(nodeView(raw, NAMES)).toEqual(webView(raw, NAMES));
  });

  it('matches Headers on generated header lists', () => {
    // A small deterministic generator (no seedable Math.random): names from a pool in random case, random values.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed >>> 16) % n;
    };
    const pool = ['authorization', 'cookie', 'set-cookie', 'x-llmemo-namespace', 'cache-control', 'api-key', 'a-b'];
    const values = ['v', ' v ', 'Bearer k', 'a=1; b=2', '', 'x,y', '\tz'];
    let repeated = 0;
    for (let round = 0; round < 300; round++) {
      const raw: string[] = [];
      for (let i = next(8); i > 0; i--) {
        const name = pool[next(pool.length)]!;
        raw.push(next(2) === 0 ? name : name.toUpperCase(), values[next(values.length)]!);
      }
      expect(nodeView(raw, [...pool, 'missing'])).toEqual(webView(raw, [...pool, 'missing']));
      const names = raw.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
      if (new Set(names).size < names.length) repeated++;
    }
    // The lists must exercise repeated names (in either case), or they test little.
    expect(repeated).toBeGreaterThan(100);
  });

  it('replaces the headers only of a POST to a cached endpoint', () => {
    const incoming = { rawHeaders: ['authorization', 'Bearer a'] };
    for (const path of ['/v1/chat/completions', '/v1/embeddings?x=1', '/v1/messages']) {
      const replaced = withNodeHeaders(new Request(`http://h${path}`, { method: 'POST', body: '{}' }), incoming);
      expect(replaced.headers).toBeInstanceOf(NodeHeaders);
    }
    for (const [method, path] of [
      ['GET', '/v1/models'],
      ['POST', '/v1/messages/count_tokens'],
      ['POST', '/admin/purge'],
      ['GET', '/v1/chat/completions'],
    ] as const) {
      const init = method === 'GET' ? { method } : { method, body: '{}' };
      expect(withNodeHeaders(new Request(`http://h${path}`, init), incoming).headers).toBeInstanceOf(Headers);
    }
    const web = new Request('http://h/v1/chat/completions', { method: 'POST', body: '{}' });
    expect(withNodeHeaders(web, undefined).headers).toBeInstanceOf(Headers);
  });
});

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

/** The same proxy on both Node paths: `listener` (raw headers) and the adapter over `fetch` (Web Headers). */
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
