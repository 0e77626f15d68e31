import { createServer, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ask, useBothPaths } from './both-paths.js';
import { apiKey, useHarness, user } from './helpers.js';

const h = useHarness();
const { bothPaths, listen } = useBothPaths(h);

const chunk = (content: string) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  })}\n\n`;
const SSE = `${chunk('Hello')}${chunk(' there')}data: [DONE]\n\n`;

/**
 * An upstream whose streamed answer carries what the streamed miss must not pass on as is: headers its
 * `Connection` names, hop-by-hop ones, a length, and repeated lines (two cookies must stay two lines).
 */
async function awkwardUpstream(): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, [
        ['content-type', 'text/event-stream'],
        ['connection', 'keep-alive, x-secret'],
        ['keep-alive', 'timeout=77'],
        ['x-secret', 'hop'],
        ['set-cookie', 'a=1; Path=/'],
        ['set-cookie', 'b=2; Path=/'],
        ['x-repeat', 'one'],
        ['x-repeat', 'two'],
        ['x-cache', 'FROM-UPSTREAM'],
        ['openai-processing-ms', '7'],
      ]);
      res.end(SSE);
    });
  });
  const port = await listen(server);
  return `http://127.0.0.1:${port}`;
}

describe('the streamed miss forwards the upstream headers as a record', () => {
  it('drops hop-by-hop and Connection-named headers, keeps repeated lines, the same on both paths', async () => {
    const upstream = await awkwardUpstream();
    const { listener, fetchPath } = await bothPaths({ upstream });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: user('awkward headers'), stream: true });
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${apiKey()}`,
      'cache-control': 'no-cache',
    };
    const viaListener = await ask(listener, '/v1/chat/completions', headers, body);
    const viaFetch = await ask(fetchPath, '/v1/chat/completions', headers, body);
    for (const reply of [viaListener, viaFetch]) {
      expect(reply.status).toBe(200);
      expect(reply.body).toBe(SSE);
      expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(reply.headers['x-repeat']).toBe('one, two');
      expect(reply.headers['x-secret']).toBeUndefined();
      // Node's server sets its own Keep-Alive for this connection; the upstream's is not forwarded.
      expect(reply.headers['keep-alive']).not.toBe('timeout=77');
      expect(reply.headers['content-length']).toBeUndefined();
      expect(reply.headers['transfer-encoding']).toBe('chunked');
      expect(reply.headers['content-type']).toBe('text/event-stream');
      expect(reply.headers['openai-processing-ms']).toBe('7');
      // Our marks replace the upstream's header of the same name.
      expect(reply.headers['x-cache']).toBe('MISS');
      expect(reply.headers['x-llmemo-key']).toMatch(/^[0-9a-f]+$/);
    }
    expect(viaListener).toEqual(viaFetch);
  });
});

/** An upstream whose stream breaks off after `sent`: the socket is destroyed, as a crashed provider's would be. */
async function breakingUpstream(sent: string): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sent, () => setTimeout(() => res.socket?.destroy(), 20));
    });
  });
  const port = await listen(server);
  return `http://127.0.0.1:${port}`;
}

/** What the client got before the response ended or was cut, and whether it ended cleanly. */
function received(port: number, body: string): Promise<{ text: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey()}` };
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/chat/completions', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('error', () => {});
      res.on('close', () => resolve({ text: Buffer.concat(parts).toString('utf8'), complete: res.complete }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a streamed miss that breaks off, on both paths', () => {
  const body = (content: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: user(content), stream: true });

  it('between two events: one last error event in-band and a clean end', async () => {
    const { listener, fetchPath } = await bothPaths({ upstream: await breakingUpstream(chunk('Hello')) });
    for (const port of [listener, fetchPath]) {
      const got = await received(port, body(`between ${port}`));
      expect(got.complete).toBe(true);
      expect(got.text.startsWith(chunk('Hello'))).toBe(true);
      const last = got.text.slice(chunk('Hello').length);
      expect(last).toMatch(/^data: \{"error":\{"message":"The upstream stream broke off before it finished/);
      expect(last.endsWith('\n\n')).toBe(true);
    }
  });
});

/** When the response's headers and its first body bytes reached the client, in ms after the request was sent. */
function firstBytes(port: number, body: string): Promise<{ headers: number; body: number; text: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${apiKey()}`,
      'cache-control': 'no-cache',
    };
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/chat/completions', headers }, (res) => {
      const heard = performance.now() - started;
      let first = 0;
      let text = '';
      res.on('data', (part: Buffer) => {
        first ||= performance.now() - started;
        text += part.toString('utf8');
      });
      res.on('end', () => resolve({ headers: heard, body: first, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the streamed miss forwards the upstream headers before the first token', () => {
  it('a slow first token does not hold the headers back, on either path; a quick one goes out with them', async () => {
    const { listener, fetchPath } = await bothPaths();
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: user('a slow first token'), stream: true });
    h.server.script({ chunks: ['slow', ' start'] });
    h.server.setLatency({ firstTokenMs: 400, perTokenMs: 0 });
    for (const port of [listener, fetchPath]) {
      const timing = await firstBytes(port, body);
      // The upstream sent its headers at once: the client has them long before the token 400 ms later.
      expect(timing.headers).toBeLessThan(250);
      expect(timing.body).toBeGreaterThan(350);
      expect(timing.text).toContain('slow');
    }
    h.server.setLatency({});
    const quick = await firstBytes(listener, body);
    expect(quick.text).toContain('[DONE]');
  });
});
