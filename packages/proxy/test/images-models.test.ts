import { createCache } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { apiKey, originOf, post, useHarness } from './helpers.js';

const h = useHarness();
const IMAGES = '/v1/images/generations';

describe('image generations', () => {
  it('caches n = 1 (the openai client, gpt-image-1 answering base64)', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    const first = await client.images.generate({ model: 'gpt-image-1', prompt: 'a red fox' });
    await proxy.proxy.flush();
    const second = await client.images.generate({ model: 'gpt-image-1', prompt: 'a red fox', n: 1 }).withResponse();
    expect(second.response.headers.get('x-cache')).toBe('HIT');
    expect(second.data.data?.[0]?.b64_json).toBe(first.data?.[0]?.b64_json);
    expect(
      Buffer.from(second.data.data?.[0]?.b64_json ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(h.server.count(IMAGES)).toBe(1);
  });

  it('does not cache n > 1 unless told to', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const body = { model: 'gpt-image-1', prompt: 'two cats', n: 2 };
    const first = await post(proxy, IMAGES, body, { key });
    expect(first.headers.get('x-cache')).toBe('BYPASS');
    expect((await first.json()).data).toHaveLength(2);
    await post(proxy, IMAGES, body, { key });
    expect(h.server.count(IMAGES)).toBe(2);

    const multi = await h.proxy({ endpoints: { images: { cacheMultiple: true } } });
    await post(multi, IMAGES, body, { key });
    await multi.proxy.flush();
    const hit = await post(multi, IMAGES, body, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect((await hit.json()).data).toHaveLength(2);
    expect(h.server.count(IMAGES)).toBe(3);
  });

  it('keeps answers holding URLs no longer than urlTtl (the provider expires them)', async () => {
    const cache = createCache();
    const proxy = await h.proxy({ cache, endpoints: { images: { urlTtl: '10m' } } });
    const key = apiKey();
    const written: (number | null)[] = [];
    cache.on('write', (event) => written.push(event.ttl));
    const urls = await post(proxy, IMAGES, { model: 'dall-e-3', prompt: 'a lighthouse' }, { key });
    expect((await urls.json()).data[0].url).toMatch(/^http/);
    await proxy.proxy.flush();
    expect(written).toEqual([600_000]);
    await post(proxy, IMAGES, { model: 'dall-e-3', prompt: 'a lighthouse', response_format: 'b64_json' }, { key });
    await proxy.proxy.flush();
    expect(written).toEqual([600_000, 7 * 86_400_000]);
    await cache.close();
  });
});

describe('models', () => {
  it('caches the model list briefly, per API key', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const client = h.client(proxy, key);
    const first = await client.models.list();
    expect(first.data.map((m) => m.id)).toContain('gpt-4o-mini');
    await proxy.proxy.flush();
    const second = await client.models.list().withResponse();
    expect(second.response.headers.get('x-cache')).toBe('HIT');
    expect(second.data.data).toEqual(first.data);
    expect(h.server.count('/v1/models')).toBe(1);
    await h.client(proxy, apiKey()).models.list();
    expect(h.server.count('/v1/models')).toBe(2);
  });

  it('passes GET /v1/models/{id} through, status and body untouched', async () => {
    const proxy = await h.proxy();
    const found = await fetch(`${originOf(proxy)}/v1/models/gpt-4o`);
    expect(found.status).toBe(200);
    expect(found.headers.get('x-cache')).toBe('BYPASS');
    expect(await found.json()).toMatchObject({ id: 'gpt-4o', object: 'model' });
    const missing = await fetch(`${originOf(proxy)}/v1/models/nope`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('model_not_found');
  });

  it('an endpoint turned off is passed through', async () => {
    const proxy = await h.proxy({ endpoints: { models: false, chat: false } });
    const key = apiKey();
    await h.client(proxy, key).models.list();
    const again = await fetch(`${originOf(proxy)}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(again.headers.get('x-cache')).toBe('BYPASS');
    const chat = await post(proxy, '/v1/chat/completions', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(chat.headers.get('x-cache')).toBe('BYPASS');
    expect(h.server.count('/v1/models')).toBe(2);
  });
});
