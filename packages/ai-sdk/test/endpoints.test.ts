// Issue 10 item 9: two models with the same provider id and model id on different endpoints never share an entry.
// Every answer names the path and query it was served on, so an answer from the wrong endpoint is visible.
import { createAzure } from '@ai-sdk/azure';
import { createOpenAI } from '@ai-sdk/openai';
import { createCache } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import {
  embed,
  generateImage,
  generateText,
  type LanguageModel,
  streamText,
  wrapEmbeddingModel,
  wrapImageModel,
  wrapLanguageModel,
} from 'ai';
import { afterAll, describe, expect, it } from 'vitest';
import { endpointOf } from '../src/endpoint.js';
import { cacheMiddleware, embeddingCacheMiddleware, imageCacheMiddleware } from '../src/index.js';
import { cached, closeCaches, llmemoOf, newCache, PERSISTENT_STORES } from './helpers.js';

const server = useOpenAITestServer();
afterAll(closeCaches);

/** Every answer is unique to where it was served: the path and query it arrived on. */
function echoWhere() {
  server.script((request) => ({ text: `served by ${request.path}${request.query}` }));
}

/** An Azure resource's fetch, redirected to the local server under a path that names the resource's host. */
function azureFetch(): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(`${server.origin}/${url.host}${url.pathname}${url.search}`, init);
  };
}

describe.each(PERSISTENT_STORES)('AI SDK endpoints on %s', (store) => {
  it('two createOpenAI base URLs with one model id never share an entry (chat and Responses, generate and stream)', async () => {
    echoWhere();
    const cache = newCache(store);
    const small = createOpenAI({ baseURL: `${server.origin}/llama-8b/v1`, apiKey: 'a' });
    const large = createOpenAI({ baseURL: `${server.origin}/llama-70b/v1`, apiKey: 'a' });
    for (const pick of [(p: typeof small) => p.chat('llama'), (p: typeof small) => p.responses('llama')]) {
      const a = cached(pick(small), cache);
      const b = cached(pick(large), cache);
      const first = await generateText({ model: a, prompt: 'Who are you?' });
      await cache.flush();
      const second = await generateText({ model: b, prompt: 'Who are you?' });
      await cache.flush();
      expect(first.text).toMatch(/^served by \/llama-8b\/v1\//);
      expect(second.text).toMatch(/^served by \/llama-70b\/v1\//);
      expect(llmemoOf(second.providerMetadata)?.hit).toBe(false);
      const streamed = streamText({ model: b, prompt: 'Who are you?' });
      expect(await streamed.text).toBe(second.text);
      expect(llmemoOf(await streamed.providerMetadata)?.hit).toBe(true);
    }
    expect(server.count()).toBe(4);
  });

  it('the same endpoint still hits, whatever the API key: credentials are not part of the endpoint', async () => {
    echoWhere();
    const cache = newCache(store);
    const one = cached(createOpenAI({ baseURL: `${server.origin}/v1`, apiKey: 'sk-one' }).chat('m'), cache);
    const two = cached(createOpenAI({ baseURL: `${server.origin}/v1`, apiKey: 'sk-two' }).chat('m'), cache);
    await generateText({ model: one, prompt: 'hi' });
    await cache.flush();
    const hit = await generateText({ model: two, prompt: 'hi' });
    expect(llmemoOf(hit.providerMetadata)?.hit).toBe(true);
    expect(server.count()).toBe(1);
  });

  it('two Azure resources, deployments or api-versions never share an entry', async () => {
    echoWhere();
    const cache = newCache(store);
    const east = createAzure({ resourceName: 'east', apiKey: 'k', fetch: azureFetch() });
    const west = createAzure({ resourceName: 'west', apiKey: 'k', fetch: azureFetch() });
    const eastDeployments = createAzure({
      resourceName: 'east',
      apiKey: 'k',
      useDeploymentBasedUrls: true,
      apiVersion: '2024-10-21',
      fetch: azureFetch(),
    });
    const eastNewer = createAzure({
      resourceName: 'east',
      apiKey: 'k',
      useDeploymentBasedUrls: true,
      apiVersion: '2025-04-01-preview',
      fetch: azureFetch(),
    });
    const models: LanguageModel[] = [
      east.chat('gpt4o-prod'),
      west.chat('gpt4o-prod'),
      eastDeployments.chat('gpt4o-prod'),
      eastNewer.chat('gpt4o-prod'),
    ].map((model) => cached(model, cache));
    const texts: string[] = [];
    for (const model of models) {
      texts.push((await generateText({ model, prompt: 'Which deployment?' })).text);
      await cache.flush();
    }
    expect(texts).toEqual([
      'served by /east.openai.azure.com/openai/v1/chat/completions?api-version=v1',
      'served by /west.openai.azure.com/openai/v1/chat/completions?api-version=v1',
      'served by /east.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21',
      'served by /east.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2025-04-01-preview',
    ]);
    // Each of them hits its own entry.
    for (const [index, model] of models.entries()) {
      const again = await generateText({ model, prompt: 'Which deployment?' });
      expect(again.text).toBe(texts[index]);
      expect(llmemoOf(again.providerMetadata)?.hit).toBe(true);
    }
    expect(server.count()).toBe(4);
  });

  it('a model whose endpoint changes after its first call never serves the old endpoint’s entry', async () => {
    // An Azure model without resourceName reads AZURE_RESOURCE_NAME on every request: one model object, two
    // resources. Keyed by what the model was on its first call, the second resource would get the first's answer.
    echoWhere();
    const cache = newCache(store);
    const before = process.env.AZURE_RESOURCE_NAME;
    try {
      const model = cached(createAzure({ apiKey: 'k', fetch: azureFetch() }).chat('gpt4o-prod'), cache);
      process.env.AZURE_RESOURCE_NAME = 'east';
      const east = await generateText({ model, prompt: 'Which resource?' });
      await cache.flush();
      process.env.AZURE_RESOURCE_NAME = 'west';
      const west = await generateText({ model, prompt: 'Which resource?' });
      await cache.flush();
      expect(east.text).toMatch(/^served by \/east\.openai\.azure\.com\//);
      expect(west.text).toMatch(/^served by \/west\.openai\.azure\.com\//);
      expect(llmemoOf(west.providerMetadata)?.hit).toBe(false);
      // Each resource still hits its own entry.
      const again = await generateText({ model, prompt: 'Which resource?' });
      expect(again.text).toBe(west.text);
      expect(llmemoOf(again.providerMetadata)?.hit).toBe(true);
      expect(server.count()).toBe(2);
    } finally {
      if (before === undefined) delete process.env.AZURE_RESOURCE_NAME;
      else process.env.AZURE_RESOURCE_NAME = before;
    }
  });

  it('embeddings and images of two endpoints never share an entry', async () => {
    const cache = newCache(store);
    const a = createOpenAI({ baseURL: `${server.origin}/a/v1`, apiKey: 'k' });
    const b = createOpenAI({ baseURL: `${server.origin}/b/v1`, apiKey: 'k' });
    for (const provider of [a, b, a, b]) {
      const model = wrapEmbeddingModel({
        model: provider.embedding('text-embedding-3-small'),
        middleware: embeddingCacheMiddleware({ cache }),
      });
      await embed({ model, value: 'alpha' });
      await cache.flush();
      const image = wrapImageModel({
        model: provider.image('gpt-image-1'),
        middleware: imageCacheMiddleware({ cache }),
      });
      await generateImage({ model: image, prompt: 'a fox' });
      await cache.flush();
    }
    expect(server.count('/a/v1/embeddings')).toBe(1);
    expect(server.count('/b/v1/embeddings')).toBe(1);
    expect(server.count('/a/v1/images/generations')).toBe(1);
    expect(server.count('/b/v1/images/generations')).toBe(1);
  });
});

describe('scope', () => {
  it('separates models whose endpoint the middleware cannot see (wrapped by another middleware first)', async () => {
    echoWhere();
    const cache = createCache();
    const hide = (baseURL: string, scope?: string) =>
      wrapLanguageModel({
        // The outer middleware sees the inner wrapper, which carries no provider config.
        model: wrapLanguageModel({
          model: createOpenAI({ baseURL, apiKey: 'k' }).chat('m'),
          middleware: { specificationVersion: 'v3' },
        }),
        middleware: cacheMiddleware({ cache, ...(scope === undefined ? {} : { scope }) }),
      });
    const eu = await generateText({ model: hide(`${server.origin}/eu/v1`, 'eu'), prompt: 'where?' });
    await cache.flush();
    const us = await generateText({ model: hide(`${server.origin}/us/v1`, 'us'), prompt: 'where?' });
    await cache.flush();
    expect(eu.text).toBe('served by /eu/v1/chat/completions');
    expect(us.text).toBe('served by /us/v1/chat/completions');
    const again = await generateText({ model: hide(`${server.origin}/us/v1`, 'us'), prompt: 'where?' });
    expect(llmemoOf(again.providerMetadata)?.hit).toBe(true);
    expect(server.count()).toBe(2);
    await cache.close();
  });

  it('is validated at construction', () => {
    const cache = createCache();
    for (const scope of ['', 3, null, {}]) {
      expect(() => cacheMiddleware({ cache, scope: scope as never })).toThrow(/scope must be a non-empty string/);
      expect(() => embeddingCacheMiddleware({ cache, scope: scope as never })).toThrow(/scope/);
      expect(() => imageCacheMiddleware({ cache, scope: scope as never })).toThrow(/scope/);
    }
  });

  it('keys a provider model by its URL without credentials, plus the scope', () => {
    const model = createOpenAI({ baseURL: 'https://u:p@gw.example/v1?api-key=s&tenant=a', apiKey: 'k' }).chat('m');
    expect(endpointOf(model, undefined)).toBe('{"url":"https://gw.example/v1?tenant=a"}');
    expect(endpointOf(model, 'eu')).toBe('{"scope":"eu","url":"https://gw.example/v1?tenant=a"}');
    expect(endpointOf({ modelId: 'custom' }, undefined)).toBeUndefined();
  });
});
