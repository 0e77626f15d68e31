import { describe, expect, it } from 'vitest';
import { endpointLabel, endpointOfUrl, isCredentialName } from '../src/endpoint.js';

describe('endpointOfUrl', () => {
  it('drops user info and credential query parameters, keeps the rest in canonical order', () => {
    expect(endpointOfUrl('https://user:pa%40ss@h.example/v1?key=AIza&b=2&api-key=x&a=1&sig=s')).toBe(
      'https://h.example/v1?a=1&b=2',
    );
    expect(endpointOfUrl('https://h.example/v1?b=2&a=1')).toBe(endpointOfUrl('https://h.example/v1?a=1&b=2'));
  });

  it('keeps base paths, hosts, ports and api versions apart', () => {
    const labels = [
      'http://h/llama-8b/v1',
      'http://h/llama-70b/v1',
      'http://h:8080/llama-8b/v1',
      'http://other/llama-8b/v1',
      'https://r.openai.azure.com/openai?api-version=2024-10-21',
      'https://r.openai.azure.com/openai?api-version=2025-01-01',
    ].map(endpointOfUrl);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('leaves text that is not an http(s) URL as it is', () => {
    expect(endpointOfUrl('eu-west:prod?key=x')).toBe('eu-west:prod?key=x');
    expect(endpointOfUrl('gpt4o-prod')).toBe('gpt4o-prod');
  });
});

describe('endpointLabel', () => {
  it('is undefined when nothing selects an endpoint, and drops credential-named parts and functions', () => {
    expect(endpointLabel({})).toBeUndefined();
    expect(endpointLabel({ url: undefined, fetch: () => 1, apiKey: 'sk-1' })).toBeUndefined();
    expect(endpointLabel({ url: 'http://h/v1', apiKey: 'sk-1' })).toBe('{"url":"http://h/v1"}');
  });

  it('gives distinct parts distinct labels, whatever their order', () => {
    expect(endpointLabel({ b: 'x', a: 'y' })).toBe(endpointLabel({ a: 'y', b: 'x' }));
    expect(endpointLabel({ deployment: 'a', scope: 'b' })).not.toBe(endpointLabel({ deployment: 'b', scope: 'a' }));
    expect(endpointLabel({ scope: 'a,b' })).not.toBe(endpointLabel({ scope: 'a', url: 'b' }));
  });
});

describe('isCredentialName', () => {
  it('recognises the common credential names and nothing that selects an endpoint', () => {
    for (const name of ['key', 'api-key', 'api_key', 'apiKey', 'access_token', 'sig', 'X-Amz-Signature', 'code']) {
      expect(isCredentialName(name), name).toBe(true);
    }
    for (const name of ['api-version', 'deployment', 'region', 'max_tokens', 'alt', 'project']) {
      expect(isCredentialName(name), name).toBe(false);
    }
  });
});

describe('ResponseCache.reportSkip', () => {
  it('counts a bypass and sends a skip event with the reason', async () => {
    const { createCache } = await import('../src/index.js');
    const cache = createCache();
    const events: unknown[] = [];
    cache.on('skip', (event) => events.push(event));
    cache.reportSkip('NOT_CACHEABLE', 'the model cannot be told apart');
    expect(events).toEqual([{ code: 'NOT_CACHEABLE', reason: 'the model cannot be told apart' }]);
    expect(cache.stats().bypasses).toBe(1);
    await cache.close();
  });
});
