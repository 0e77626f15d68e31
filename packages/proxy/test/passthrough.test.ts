import { describe, expect, it } from 'vitest';
import { apiKey, originOf, post, useHarness } from './helpers.js';

const h = useHarness();

describe('everything else passes through untouched and is never cached', () => {
  it('the Responses API, plain and streamed, through the openai client', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'hello responses' }).withResponse();
    expect(first.response.headers.get('x-cache')).toBe('BYPASS');
    expect(first.data.output_text).toBe('Echo: hello responses');
    await client.responses.create({ model: 'gpt-4o-mini', input: 'hello responses' });
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'streamed', stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(h.server.count('/v1/responses')).toBe(3);
  });

  it('keeps method, query, status, headers and body; drops only x-llmemo-* on the way up', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const response = await post(
      proxy,
      '/v1/responses?trace=1',
      { model: 'gpt-4o-mini', input: 'q' },
      {
        key,
        headers: { 'x-llmemo-namespace': 'mine', 'openai-beta': 'feature=v1', 'x-custom': 'kept' },
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    const seen = h.server.requestsTo('/v1/responses')[0]!;
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['openai-beta']).toBe('feature=v1');
    expect(seen.headers.authorization).toBe(`Bearer ${key}`);
    expect(seen.headers['x-llmemo-namespace']).toBeUndefined();
    const notFound = await fetch(`${originOf(proxy)}/v1/nothing-here`, { method: 'DELETE' });
    expect(notFound.status).toBe(404);
    expect((await notFound.json()).error.message).toContain('DELETE /v1/nothing-here');
  });

  it('works with an upstream given with or without /v1', async () => {
    for (const upstream of [h.server.origin, h.server.url, `${h.server.url}/`]) {
      const proxy = await h.proxy({ upstream });
      const models = await h.client(proxy).models.list();
      expect(models.data.length).toBeGreaterThan(0);
      const chat = await post(proxy, '/v1/chat/completions', {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: upstream }],
      });
      expect(chat.status).toBe(200);
    }
    expect(h.server.count('/v1/models')).toBe(3);
    expect(h.server.count('/v1/chat/completions')).toBe(3);
  });
});
