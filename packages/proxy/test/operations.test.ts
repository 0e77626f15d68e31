import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ask, bearer, secretKey, stored, useEchoUpstream } from './attack.js';
import { eventually, startProcess } from './process.js';

const upstream = useEchoUpstream();
const CHAT = '/v1/chat/completions';

interface RawResponse {
  interim: string[];
  status: number;
  head: string;
  body: string;
}

/**
 * What curl does with a body over 1 MiB: send the headers with `Expect: 100-continue`, wait for `100 Continue` (or
 * a second), then send the body. Resolves the interim responses and the final one.
 */
function expectContinue(origin: string, path: string, headers: Record<string, string>, body: string) {
  return new Promise<RawResponse>((resolve, reject) => {
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    let data = '';
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      socket.write(body);
    };
    const timer = setTimeout(send, 1000);
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (!sent && data.startsWith('HTTP/1.1 100')) {
        clearTimeout(timer);
        send();
      }
    });
    socket.on('end', () => {
      const blocks = data.split('\r\n\r\n');
      const interim: string[] = [];
      while (blocks[0]?.startsWith('HTTP/1.1 1')) interim.push(blocks.shift()!);
      const head = blocks.shift() ?? '';
      resolve({ interim, status: Number(head.split(' ')[1]), head, body: blocks.join('\r\n\r\n') });
    });
    socket.on('error', reject);
    const lines = Object.entries({
      host: 'proxy',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      expect: '100-continue',
      connection: 'close',
      ...headers,
    }).map(([name, value]) => `${name}: ${value}`);
    socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  });
}

describe('issue 13: Expect: 100-continue and hop-by-hop headers', () => {
  it('a curl-style request with Expect: 100-continue is answered, cached and passed through', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const key = secretKey('expect');
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(1100_000) }] });
    const first = await expectContinue(proxy.origin, CHAT, bearer(key), body);
    expect(first.interim[0]).toMatch(/^HTTP\/1\.1 100 Continue/);
    expect(first.status).toBe(200);
    expect(first.head.toLowerCase()).toContain('x-cache: miss');
    // Pass-through endpoints too, with the headers a Connection header names left out as hop-by-hop.
    const passed = await expectContinue(
      proxy.origin,
      '/v1/responses',
      { ...bearer(key), connection: 'close, x-hop' },
      '{"model":"m","input":"hi"}',
    );
    expect(passed.status).toBe(200);
    const seen = upstream.server.requestsTo('/v1/responses')[0]!;
    expect(seen.headers.expect).toBeUndefined();
    expect(upstream.server.requestsTo(CHAT)[0]!.headers.expect).toBeUndefined();
  });

  it('headers named by Connection are not forwarded', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const response = await expectContinue(
      proxy.origin,
      CHAT,
      {
        ...bearer(secretKey('hop')),
        connection: 'close, x-hop-secret',
        'x-hop-secret': 'do-not-forward',
        'x-kept': '1',
      },
      JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hop' }] }),
    );
    expect(response.status).toBe(200);
    const seen = upstream.server.requestsTo(CHAT)[0]!;
    expect(seen.headers['x-hop-secret']).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('1');
  });
});

describe('issue 13: /healthz and /readyz', () => {
  it('answer for the process and the store, and are never forwarded', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const health = await fetch(`${proxy.origin}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${proxy.origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', store: 'memory', breaker: 'closed' });

    const dead = await startProcess(['--upstream', upstream.server.url, '--store', 'redis://127.0.0.1:1']);
    expect((await fetch(`${dead.origin}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${dead.origin}/readyz`);
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { status: string; problems: string[] };
    expect(body.status).toBe('unavailable');
    expect(body.problems.join(' ')).toContain('redis store');
    expect(upstream.server.count()).toBe(0);
  });
});

describe('issue 13: the access log', () => {
  it('one JSON line per request with status, X-Cache, timings, bytes and a namespace digest; never prompt or key', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const key = secretKey('logged');
    const prompt = 'a prompt that must never be logged';
    await ask(proxy, { headers: bearer(key), prompt, path: `${CHAT}?key=${key}` });
    await stored(proxy, { headers: bearer(key), prompt, path: `${CHAT}?key=${key}` });
    await fetch(`${proxy.origin}/healthz`);
    await eventually(() => proxy.logs().filter((line) => line.msg === 'request').length >= 3, 'the access log lines');
    const lines = proxy.logs().filter((line) => line.msg === 'request');
    const [miss] = lines;
    expect(miss).toMatchObject({ method: 'POST', path: CHAT, status: 200, cache: 'MISS', level: 30 });
    expect(miss!.durationMs).toEqual(expect.any(Number));
    expect(miss!.upstreamMs).toEqual(expect.any(Number));
    expect(miss!.bytesIn).toBeGreaterThan(0);
    expect(miss!.bytesOut).toBeGreaterThan(0);
    expect(miss!.ns).toMatch(/^[0-9a-f]{12}$/);
    const hit = lines.find((line) => line.cache === 'HIT')!;
    expect(hit.ns).toBe(miss!.ns);
    expect(hit.upstreamMs).toBeUndefined();
    expect(lines.find((line) => line.path === '/healthz')).toMatchObject({ status: 200, cache: '-' });
    const everything = proxy.lines().join('\n') + proxy.stderr();
    expect(everything).not.toContain(prompt);
    expect(everything).not.toContain(key.slice(3));
  });

  it('logs upstream failures with their cause; --log-level and --log-format choose what and how', async () => {
    const proxy = await startProcess(['--upstream', 'http://127.0.0.1:1/v1']);
    const failed = await ask(proxy, { headers: bearer(secretKey('down')) });
    expect(failed.status).toBe(502);
    await eventually(() => proxy.logs().some((line) => line.level === 50), 'an error line');
    const error = proxy.logs().find((line) => line.level === 50)!;
    expect(String(error.msg)).toContain('ECONNREFUSED');
    expect(error.code).toBe('upstream_unreachable');

    const quiet = await startProcess(['--upstream', upstream.server.url, '--log-level', 'warn']);
    await ask(quiet, { headers: bearer(secretKey('quiet')) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(quiet.logs().filter((line) => line.msg === 'request')).toEqual([]);

    const pretty = await startProcess(['--upstream', upstream.server.url, '--log-format', 'pretty']);
    await ask(pretty, { headers: bearer(secretKey('pretty')) });
    await eventually(
      () => pretty.lines().some((line) => line.includes('POST /v1/chat/completions 200 MISS')),
      'a pretty line',
    );
    expect(pretty.logs()).toEqual([]);
  });
});

describe('issue 13: one entry serves streamed and plain requests', () => {
  it('a stream recorded without include_usage answers a plain request as a HIT, with usage', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const key = secretKey('usage');
    const client = proxy.client(key);
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'stream me' }] };
    const stream = await client.chat.completions.create({ ...params, stream: true }).withResponse();
    expect(stream.response.headers.get('x-cache')).toBe('MISS');
    const chunks = [];
    for await (const chunk of stream.data) chunks.push(chunk);
    // The client did not ask for usage: no usage chunk (one with no choices), no usage fields.
    expect(chunks.every((chunk) => chunk.choices.length > 0 && chunk.usage === undefined)).toBe(true);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    // The upstream was asked for usage all the same.
    const sent = upstream.server.requestsTo(CHAT)[0]!.body as { stream_options?: { include_usage?: boolean } };
    expect(sent.stream_options).toEqual({ include_usage: true });
    let plain = await client.chat.completions.create(params).withResponse();
    for (let i = 0; i < 100 && plain.response.headers.get('x-cache') !== 'HIT'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      plain = await client.chat.completions.create(params).withResponse();
    }
    expect(plain.response.headers.get('x-cache')).toBe('HIT');
    expect(plain.data.choices[0]!.message.content).toBe(text);
    expect(plain.data.usage?.total_tokens).toBeGreaterThan(0);
    expect(upstream.server.count(CHAT)).toBe(1);
  });
});
