import { storeUrl } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { apiKey, post, ssePayloads, streamText, until, useHarness, user } from './helpers.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';

describe.each(['sqlite', 'redis'] as const)('on a %s store shared by two proxies', (kind) => {
  it('one proxy writes chat (plain and streamed) and embeddings; the other answers from the store', async () => {
    const url = storeUrl(kind);
    const writer = await h.proxy({ cache: { store: url, timeoutMs: 2000 } });
    const reader = await h.proxy({ cache: { store: url, timeoutMs: 2000 } });
    const key = apiKey();

    const plain = await h
      .client(writer, key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: user('plain') });
    h.server.script({ chunks: ['st', 're', 'am'] });
    const streamBody = { model: 'gpt-4o-mini', messages: user('streamed'), stream: true };
    const recorded = await (await post(writer, CHAT, streamBody, { key })).text();
    await h.client(writer, key).embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    await writer.proxy.flush();

    const again = await h
      .client(reader, key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: user('plain') })
      .withResponse();
    expect(again.response.headers.get('x-cache')).toBe('HIT');
    expect(again.data).toEqual(plain);
    const replayed = await post(reader, CHAT, streamBody, { key });
    expect(replayed.headers.get('x-cache')).toBe('HIT');
    expect(ssePayloads(await replayed.text())).toEqual(ssePayloads(recorded));
    const viaClient = await h.client(reader, key).chat.completions.create({ ...streamBody, stream: true });
    expect(await streamText(viaClient)).toBe('stream');
    const vectors = await h
      .client(reader, key)
      .embeddings.create({ model: 'text-embedding-3-small', input: ['b', 'c', 'a'] })
      .withResponse();
    expect(vectors.response.headers.get('x-llmemo-hits')).toBe('2/3');

    expect(h.server.count(CHAT)).toBe(2);
    expect(h.server.requestsTo('/v1/embeddings').map((r) => (r.body as { input: unknown }).input)).toEqual([
      ['a', 'b'],
      ['c'],
    ]);
  });

  it('100 concurrent identical streams send one upstream request, then the store answers', async () => {
    const proxy = await h.proxy({ cache: { store: storeUrl(kind), timeoutMs: 2000 } });
    const client = h.client(proxy);
    let misses = 0;
    proxy.proxy.cache.on('miss', () => misses++);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    h.server.script(async () => {
      await gate;
      return { chunks: ['to', 'get', 'her'] };
    });
    const ask = () =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('crowd'), stream: true }).then(streamText);
    const texts = Array.from({ length: 100 }, ask);
    await until(() => misses >= 100);
    open();
    expect(new Set(await Promise.all(texts))).toEqual(new Set(['together']));
    await proxy.proxy.flush();
    expect(await ask()).toBe('together');
    expect(h.server.count(CHAT)).toBe(1);
  });
});
