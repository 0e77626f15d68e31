import { createServer } from 'node:http';
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
