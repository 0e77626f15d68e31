import { embeddingFor } from '@llmemo/test-support/openai';
import { describe, expect, it } from 'vitest';
import { apiKey, post, useHarness } from './helpers.js';

const h = useHarness();
const PATH = '/v1/embeddings';
const MODEL = 'text-embedding-3-small';

const inputsSent = () => h.server.requestsTo(PATH).map((request) => (request.body as { input: unknown }).input);

describe('embeddings, cached per input', () => {
  it('the openai client (base64 on the wire) gets the same vectors from the cache', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    const first = await client.embeddings.create({ model: MODEL, input: ['alpha', 'beta'] });
    expect(first.data[0]?.embedding).toEqual(embeddingFor('alpha', 8));
    await proxy.proxy.flush();
    const second = await client.embeddings.create({ model: MODEL, input: ['alpha', 'beta'] }).withResponse();
    expect(second.response.headers.get('x-cache')).toBe('HIT');
    expect(second.response.headers.get('x-llmemo-hits')).toBe('2/2');
    expect(second.data.data.map((d) => d.embedding)).toEqual(first.data.map((d) => d.embedding));
    expect(second.data.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 });
    expect(h.server.count(PATH)).toBe(1);
  });

  it('sends only the misses upstream and puts the answer back together in order', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    await client.embeddings.create({ model: MODEL, input: ['one', 'three'] });
    await proxy.proxy.flush();
    const mixed = await client.embeddings
      .create({ model: MODEL, input: ['zero', 'one', 'two', 'three'] })
      .withResponse();
    expect(mixed.response.headers.get('x-cache')).toBe('MISS');
    expect(mixed.response.headers.get('x-llmemo-hits')).toBe('2/4');
    expect(inputsSent()).toEqual([
      ['one', 'three'],
      ['zero', 'two'],
    ]);
    expect(mixed.data.data.map((d) => d.index)).toEqual([0, 1, 2, 3]);
    expect(mixed.data.data.map((d) => d.embedding)).toEqual(
      ['zero', 'one', 'two', 'three'].map((text) => embeddingFor(text, 8)),
    );
    // Usage counts what this request spent upstream: the two misses (one token each).
    expect(mixed.data.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    expect(mixed.data.model).toBe(MODEL);
  });

  it('sends a repeated input once and answers each position', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    await client.embeddings.create({ model: MODEL, input: ['seed'] });
    await proxy.proxy.flush();
    const result = await client.embeddings.create({ model: MODEL, input: ['dup', 'seed', 'dup'] });
    expect(inputsSent()).toEqual([['seed'], ['dup']]);
    expect(result.data.map((d) => d.embedding)).toEqual(['dup', 'seed', 'dup'].map((t) => embeddingFor(t, 8)));
  });

  it('serves float requests from base64 entries and back, with the same numbers', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    // Written as base64 (the official client's default)...
    await h.client(proxy, key).embeddings.create({ model: MODEL, input: ['shared'] });
    await proxy.proxy.flush();
    // ...read as float by a client that asks for it, like curl or LangChain with encoding_format: 'float'.
    const float = await post(proxy, PATH, { model: MODEL, input: 'shared', encoding_format: 'float' }, { key });
    expect(float.headers.get('x-cache')).toBe('HIT');
    const floatBody = await float.json();
    expect(floatBody.data[0].embedding).toEqual(embeddingFor('shared', 8));
    // And the other way: a float entry served as base64.
    await post(proxy, PATH, { model: MODEL, input: 'floaty', encoding_format: 'float' }, { key });
    await proxy.proxy.flush();
    const base64 = await post(proxy, PATH, { model: MODEL, input: 'floaty', encoding_format: 'base64' }, { key });
    expect(base64.headers.get('x-cache')).toBe('HIT');
    const encoded = (await base64.json()).data[0].embedding as string;
    const buffer = Buffer.from(encoded, 'base64');
    const decoded = Array.from({ length: buffer.length / 4 }, (_, i) => buffer.readFloatLE(i * 4));
    expect(decoded).toEqual(embeddingFor('floaty', 8));
    expect(h.server.count(PATH)).toBe(2);
  });

  it('keys by model and dimensions, and a single string shares with a one-item list', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    await post(proxy, PATH, { model: MODEL, input: 'text' }, { key });
    await proxy.proxy.flush();
    expect((await post(proxy, PATH, { model: MODEL, input: ['text'] }, { key })).headers.get('x-cache')).toBe('HIT');
    const other = await post(proxy, PATH, { model: 'text-embedding-3-large', input: 'text' }, { key });
    expect(other.headers.get('x-cache')).toBe('MISS');
    const smaller = await post(proxy, PATH, { model: MODEL, input: 'text', dimensions: 4 }, { key });
    expect(smaller.headers.get('x-cache')).toBe('MISS');
    expect((await smaller.json()).data[0].embedding).toHaveLength(4);
    expect(h.server.count(PATH)).toBe(3);
  });

  it('caches token-array inputs', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    await post(
      proxy,
      PATH,
      {
        model: MODEL,
        input: [
          [1, 2, 3],
          [4, 5],
        ],
      },
      { key },
    );
    await proxy.proxy.flush();
    const hit = await post(proxy, PATH, { model: MODEL, input: [4, 5] }, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(h.server.count(PATH)).toBe(1);
  });

  it('passes an upstream error through and caches nothing', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    h.server.failNext(1, { status: 400, message: 'bad input', code: 'invalid_input' });
    const failed = await post(proxy, PATH, { model: MODEL, input: ['x', 'y'] }, { key });
    expect(failed.status).toBe(400);
    expect((await failed.json()).error).toMatchObject({ message: 'bad input', code: 'invalid_input' });
    await proxy.proxy.flush();
    const retried = await post(proxy, PATH, { model: MODEL, input: ['x', 'y'] }, { key });
    expect(retried.headers.get('x-llmemo-hits')).toBe('0/2');
    expect(h.server.count(PATH)).toBe(2);
  });

  it('an input the API would reject is forwarded untouched, uncached', async () => {
    const proxy = await h.proxy();
    const response = await post(proxy, PATH, { model: MODEL, input: [] });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-cache')).toBe('BYPASS');
    expect((await response.json()).error.param).toBe('input');
  });
});
