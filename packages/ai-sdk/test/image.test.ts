// imageCacheMiddleware end to end: real @ai-sdk/openai image models against the local server, on SQLite and Redis.
import { isLlmemoError } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import { imageFor } from '@llmemo/test-support/openai';
import { generateImage, wrapImageModel } from 'ai';
import { MockImageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { imageCacheMiddleware } from '../src/index.js';
import { closeCaches, newCache, PERSISTENT_STORES, provider } from './helpers.js';

const server = useOpenAITestServer();
afterEach(closeCaches);

const PATH = '/v1/images/generations';

describe.each(PERSISTENT_STORES)('imageCacheMiddleware on %s', (store) => {
  function setup(modelId: string, maxImages?: number) {
    const cache = newCache(store);
    const model = wrapImageModel({
      model: provider(server).image(modelId),
      middleware: imageCacheMiddleware(maxImages === undefined ? { cache } : { cache, maxImages }),
    });
    return { cache, model };
  }

  it('n = 1: the repeat is a hit with the same bytes, media type, metadata and usage', async () => {
    const { cache, model } = setup('gpt-image-1');
    const first = await generateImage({ model, prompt: 'a red fox' });
    await cache.flush();
    const second = await generateImage({ model, prompt: 'a red fox' });
    expect(server.count(PATH)).toBe(1);
    expect(second.image.uint8Array).toEqual(first.image.uint8Array);
    expect(Buffer.from(second.image.uint8Array)).toEqual(imageFor('a red fox', 0));
    expect(second.image.mediaType).toBe('image/png');
    expect(second.usage).toEqual(first.usage);
    expect(second.responses[0]?.timestamp).toBeInstanceOf(Date);
    expect(second.responses[0]?.timestamp.getTime()).toBe(first.responses[0]?.timestamp.getTime());
    // generateImage keeps only the per-image list of each provider entry: one cache info per image.
    expect(second.providerMetadata.llmemo?.images).toEqual([
      {
        hit: true,
        age: expect.any(Number),
        key: expect.stringMatching(/^llmemo:v2:.*:image:openai\.image:gpt-image-1:/),
      },
    ]);
    expect(first.providerMetadata.llmemo?.images).toEqual([{ hit: false, age: 0, key: expect.any(String) }]);
    expect(second.images[0]?.providerMetadata?.llmemo).toMatchObject({ hit: true });
    const { llmemo: _a, ...restFirst } = first.providerMetadata;
    const { llmemo: _b, ...restSecond } = second.providerMetadata;
    expect(restSecond).toEqual(restFirst);
  });

  it('n above maxImages is not cached; maxImages allows it', async () => {
    const uncached = setup('gpt-image-1');
    for (let i = 0; i < 2; i++) {
      expect((await generateImage({ model: uncached.model, prompt: 'two cats', n: 2 })).images).toHaveLength(2);
      await uncached.cache.flush();
    }
    expect(server.count(PATH)).toBe(2);

    const allowed = setup('gpt-image-1', 2);
    const first = await generateImage({ model: allowed.model, prompt: 'two cats', n: 2 });
    await allowed.cache.flush();
    const second = await generateImage({ model: allowed.model, prompt: 'two cats', n: 2 });
    expect(second.images.map((image) => image.base64)).toEqual(first.images.map((image) => image.base64));
    expect(second.images[0]?.base64).not.toBe(second.images[1]?.base64);
    expect(server.count(PATH)).toBe(3);
  });

  it('a split n > 1 request (one image per call) is never answered with copies of one cached image', async () => {
    const { cache, model } = setup('dall-e-3');
    await generateImage({ model, prompt: 'a lighthouse', n: 2 });
    await cache.flush();
    expect(server.count(PATH)).toBe(2);
    // The second run: one call is answered from the cache, its identical sibling goes to the provider.
    const second = await generateImage({ model, prompt: 'a lighthouse', n: 2 });
    expect(server.count(PATH)).toBe(3);
    const hits = (second.providerMetadata.llmemo?.images as { hit: boolean }[] | undefined)?.map((info) => info.hit);
    expect(hits?.sort()).toEqual([false, true]);
  });

  it('a bad per-call option fails before the provider is called', async () => {
    const { model } = setup('gpt-image-1');
    const error = await generateImage({ model, prompt: 'x', providerOptions: { llmemo: { noStore: 'yes' } } }).catch(
      (e: unknown) => e,
    );
    expect(isLlmemoError(error, 'INVALID_OPTIONS')).toBe(true);
    expect(server.count(PATH)).toBe(0);
  });
});

describe('split requests with a model that makes different images each call', () => {
  it('returns distinct images', async () => {
    let made = 0;
    const base = new MockImageModelV4({
      maxImagesPerCall: 1,
      doGenerate: async () => ({
        images: [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, made++])],
        warnings: [],
        response: { timestamp: new Date(), modelId: 'mock', headers: undefined },
      }),
    });
    const cache = newCache('memory');
    const model = wrapImageModel({ model: base, middleware: imageCacheMiddleware({ cache }) });
    for (let run = 0; run < 2; run++) {
      const { images } = await generateImage({ model, prompt: 'p', n: 3 });
      await cache.flush();
      expect(new Set(images.map((image) => image.base64)).size).toBe(3);
    }
  });
});
