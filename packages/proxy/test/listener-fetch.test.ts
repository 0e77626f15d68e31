import { describe, expect, it } from 'vitest';
import { Answer, headerOf, toResponse } from '../src/answer.js';
import { jsonAnswer, recordAnswer } from '../src/context.js';
import { errorAnswer } from '../src/errors.js';
import { ask, useBothPaths } from './both-paths.js';
import { ADMIN_TOKEN, apiKey, useHarness, user } from './helpers.js';

describe('headerOf', () => {
  it('reads what Response.headers reads, for answers built here (and their Responses) and any other response', () => {
    const answers = [
      jsonAnswer({ a: 1 }, { 'x-cache': 'HIT', 'x-llmemo-key': 'k' }),
      recordAnswer('data: x\n\n', { 'content-type': 'text/event-stream', 'x-cache': 'STALE' }),
      errorAnswer(403, 'no', { code: 'c', headers: { 'x-cache': 'BYPASS' } }),
      new Answer(null, new Headers({ 'x-cache': 'MISS', 'x-llmemo-bypass': 'unkeyable' }), 204),
    ];
    const built = [
      ...answers.flatMap((answer) => [answer, toResponse(answer)]),
      new Response('plain', { headers: { 'x-cache': 'MISS', 'x-llmemo-bypass': 'requested' } }),
      new Response(null, { status: 204 }),
    ];
    for (const reply of built) {
      const response = reply instanceof Answer ? toResponse(reply) : reply;
      for (const name of ['x-cache', 'x-llmemo-bypass', 'x-llmemo-key', 'content-type']) {
        expect(headerOf(reply, name)).toBe(response.headers.get(name));
      }
    }
  });
});

const h = useHarness();
const { bothPaths } = useBothPaths(h);

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
