import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { redact } from '../src/redact.js';
import { ask, bearer, secretKey, stored, useEchoUpstream } from './attack.js';
import { startProcess } from './process.js';

const upstream = useEchoUpstream();
const ADMIN = 'admin-token-0123456789abcdef';

/** A request written byte for byte (fetch would normalize `..` and `//` before sending). */
function rawRequest(origin: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('end', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body: rest.join('\r\n\r\n') });
    });
    socket.on('error', reject);
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${ADMIN}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
  });
}

describe('issue 10 item 4: the admin token stays home', () => {
  it('nothing under /admin is forwarded, whatever its spelling; unknown admin paths are a 404 JSON error', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url], { LLMEMO_ADMIN_TOKEN: ADMIN });
    const paths: [string, string][] = [
      ['GET', '/admin/typo'],
      ['GET', '/admin/stats/'],
      ['GET', '/admin//stats'],
      ['GET', '/admin/purge'],
      ['GET', '/admin'],
      ['GET', '//admin/stats'],
      ['GET', '/ADMIN/stats'],
      ['POST', '/admin/stats'],
    ];
    for (const [method, path] of paths) {
      const response = await rawRequest(proxy.origin, method, path);
      expect([method, path, response.status]).toEqual([method, path, 404]);
      expect(response.body).toContain('"error"');
    }
    expect(upstream.server.count()).toBe(0);
    // The real endpoint still works, however it is spelt (the router decodes the path): it is the proxy's own.
    for (const path of ['/admin/stats', '/%61dmin/stats', '/v1/../admin/stats']) {
      const stats = await rawRequest(proxy.origin, 'GET', path);
      expect([path, stats.status]).toEqual([path, 200]);
      expect(JSON.parse(stats.body)).toHaveProperty('cache');
    }
    expect(upstream.server.count()).toBe(0);
  });

  it('a request carrying the admin token as its credential is refused, never sent upstream', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url], { LLMEMO_ADMIN_TOKEN: ADMIN });
    for (const headers of [bearer(ADMIN), { 'x-api-key': ADMIN }, { authorization: ADMIN }]) {
      expect((await ask(proxy, { headers })).status).toBe(403);
      expect((await ask(proxy, { headers, path: '/v1/responses', body: { model: 'm', input: 'x' } })).status).toBe(403);
    }
    expect((await ask(proxy, { path: `/v1/models?key=${ADMIN}`, method: 'GET' })).status).toBe(403);
    for (const request of upstream.server.requests) expect(JSON.stringify(request)).not.toContain(ADMIN);
    expect(upstream.server.count()).toBe(0);
  });
});

describe('issue 10 item 5: failed generations are not stored', () => {
  it('finish_reason "error" is never stored, in JSON or SSE; content_filter only when allowed', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    const key = bearer(secretKey('finish'));
    upstream.server.script({ text: 'partial', finishReason: 'error' });
    const stream = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'streamed' }], stream: true };
    for (let i = 0; i < 3; i++) {
      expect((await ask(proxy, { headers: key, prompt: 'plain' })).cache).toBe('MISS');
      const streamed = await fetch(`${proxy.url}/chat/completions`, {
        method: 'POST',
        headers: { ...key, 'content-type': 'application/json' },
        body: JSON.stringify(stream),
      });
      expect(streamed.headers.get('x-cache')).toBe('MISS');
      expect(await streamed.text()).toContain('"finish_reason":"error"');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(upstream.server.count('/v1/chat/completions')).toBe(6);

    upstream.server.script({ text: 'filtered', finishReason: 'content_filter' });
    await ask(proxy, { headers: key, prompt: 'filtered' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await ask(proxy, { headers: key, prompt: 'filtered' })).cache).toBe('MISS');
    const allowing = await startProcess(['--upstream', upstream.server.url, '--cache-content-filter']);
    await ask(allowing, { headers: key, prompt: 'filtered' });
    expect((await stored(allowing, { headers: key, prompt: 'filtered' })).text).toBe('filtered');
  });
});

/** Sends a chat body of `size` bytes, declared with Content-Length, over a raw socket; resolves status and headers. */
function bigRequest(origin: string, size: number, key: string): Promise<{ status: number; head: string }> {
  const prefix = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"';
  const suffix = '"}]}';
  const filler = Buffer.alloc(size - prefix.length - suffix.length, 'a');
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end >= 0) {
        resolve({ status: Number(data.split(' ')[1]), head: data.slice(0, end) });
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve({ status: 0, head: data }));
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`,
    );
    socket.write(prefix);
    socket.write(filler);
    // Not end(): a half-closed connection makes Node abort the request in progress.
    socket.write(suffix);
  });
}

describe('issue 10 item 6: bounded under abuse', () => {
  it('16 concurrent 30 MiB bodies: past the in-flight bound 503 + retry-after, and memory returns near baseline', {
    timeout: 240_000,
  }, async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url]);
    // A short answer: the memory under test is the proxy's, not the echo of 30 MiB prompts.
    upstream.server.script({ text: 'ok' });
    const key = secretKey('burst');
    await ask(proxy, { headers: bearer(key), prompt: 'warm up' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baseline = proxy.rss();
    const results = await Promise.all(
      Array.from({ length: 16 }, () => bigRequest(proxy.origin, 30 * 1024 * 1024, key)),
    );
    const statuses = results.map((result) => result.status);
    const peak = proxy.rss();
    const refused = results.filter((result) => result.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const result of refused) expect(result.head.toLowerCase()).toContain('retry-after:');
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    // What "near baseline" allows: the bodies themselves are gone (without the proxy's collection after a burst, RSS
    // stays at the peak, +350 MiB measured), but the runtime keeps some freed pages mapped, more on newer Nodes
    // (measured after the burst: Node 20 +18 MiB, Node 26 +81 and +103 MiB). Holding on to the four accepted bodies
    // and their parsed copies would keep ~240 MiB, so 160 MiB still catches that without tracking the allocator.
    const allowance = 160 * 1024 * 1024;
    let after = proxy.rss();
    // Give the collector a few seconds to hand the bodies back.
    for (let i = 0; i < 120 && after > baseline + allowance; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = proxy.rss();
    }
    const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
    console.info(
      `16 × 30 MiB: ${statuses.join(',')}; RSS baseline ${mib(baseline)}, at the end of the burst ${mib(peak)}, after ${mib(after)}`,
    );
    expect(after - baseline).toBeLessThan(allowance);
    // Still serving.
    expect((await ask(proxy, { headers: bearer(key), prompt: 'after' })).status).toBe(200);
  });

  it('a body that does not arrive in time gets 408', async () => {
    const proxy = await startProcess(['--upstream', upstream.server.url, '--body-timeout', '1s']);
    const response = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(proxy.origin).port), '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString();
      });
      socket.on('close', () => resolve(data));
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${secretKey('slow')}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`,
      );
      // Never finished: a slow client, or a slowloris.
      setTimeout(() => socket.destroy(), 8000);
    });
    expect(response).toMatch(/^HTTP\/1\.1 408/);
    expect(response).toContain('request_timeout');
    expect(upstream.server.count()).toBe(0);
  });
});

describe('issue 10 item 7: the startup line masks every credential form', () => {
  it('masks passwords holding @ and : and query credentials', () => {
    expect(redact('redis://u:p@ss@cache:6379')).toBe('redis://u:***@cache:6379');
    expect(redact('redis://u:p:a/s@cache:6379/0')).toBe('redis://u:***@cache:6379/0');
    expect(redact('rediss://:hunter2@cache:6379/0')).toBe('rediss://:***@cache:6379/0');
    expect(redact('redis://token-only@cache')).toBe('redis://***@cache');
    expect(redact('redis://cache:6379?password=hunter2&db=1')).toBe('redis://cache:6379?password=***&db=1');
    expect(redact('redis://cache?user=me&auth_token=x&sig=y')).toBe('redis://cache?user=me&auth_token=***&sig=***');
    expect(redact('sqlite://.llmemo/cache.sqlite')).toBe('sqlite://.llmemo/cache.sqlite');
    expect(redact('memory://')).toBe('memory://');
  });

  it('the running command prints no part of them', async () => {
    const proxy = await startProcess([
      '--upstream',
      `http://user:up%40stream@${new URL(upstream.server.url).host}/v1`,
      '--store',
      'redis://u:p@ss@127.0.0.1:1?password=hunter2',
      '--store-timeout',
      '50',
    ]);
    const printed = proxy.stderr() + proxy.lines().join('\n');
    expect(printed).toContain('store redis://u:***@127.0.0.1:1?password=***');
    for (const secret of ['p@ss', 'ss@', 'hunter2', 'up%40stream']) expect(printed).not.toContain(secret);
  });
});
