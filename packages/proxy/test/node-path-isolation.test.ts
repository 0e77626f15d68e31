import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxy } from '../src/index.js';
import { type Ask, ask, bearer, secretKey, stored, useEchoUpstream } from './attack.js';

/**
 * The attacker's view of the Node path (`startProxy` serves the hot routes without hono): requests that reach a
 * different model, endpoint, upstream or credential must never share an entry, and the same request must find one
 * entry whichever path wrote it. The echo upstream makes every answer unique and says what reached it, so a
 * wrongly served answer shows in its text.
 */
const upstream = useEchoUpstream({ basePaths: ['/llama-8b', '/llama-70b'] });
const dir = mkdtempSync(join(tmpdir(), 'llmemo-node-path-'));
const running: RunningProxy[] = [];
const servers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close()));
  for (const close of servers.splice(0)) await close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const originOf = (proxy: RunningProxy) => ({ origin: proxy.url.replace(/\/v1$/, '') });

async function proxyOn(store: string, basePath = '') {
  const proxy = await startProxy({
    upstream: `${upstream.server.url.replace(/\/v1$/, '')}${basePath}/v1`,
    port: 0,
    cache: { store },
  });
  running.push(proxy);
  return proxy;
}

/** The same proxy's fetch handler behind the adapter, as a user mounting `proxy.fetch` would serve it. */
async function fetchPathOf(proxy: RunningProxy): Promise<{ origin: string }> {
  const server = createServer(getRequestListener(proxy.proxy.fetch));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the Node path keeps requests apart', () => {
  it('model, query, credential, output-changing header and endpoint each get their own entry', async () => {
    const proxy = await proxyOn(`sqlite://${join(dir, 'variants.sqlite')}`);
    const at = originOf(proxy);
    const key = secretKey('tenant-a');
    const prompt = 'same words for everyone';
    const chat = (model: string) => ({ model, messages: [{ role: 'user', content: prompt }] });
    const variants: Record<string, Ask> = {
      base: { headers: bearer(key), body: chat('gpt-4o-mini') },
      otherModel: { headers: bearer(key), body: chat('gpt-4o') },
      apiVersion1: {
        path: '/v1/chat/completions?api-version=2024-01',
        headers: bearer(key),
        body: chat('gpt-4o-mini'),
      },
      apiVersion2: {
        path: '/v1/chat/completions?api-version=2024-02',
        headers: bearer(key),
        body: chat('gpt-4o-mini'),
      },
      otherKey: { headers: bearer(secretKey('tenant-b')), body: chat('gpt-4o-mini') },
      // (The same key sent as `api-key` is the same tenant by design: credentials.ts.)
      apiKeyHeader: { headers: { 'api-key': secretKey('tenant-c') }, body: chat('gpt-4o-mini') },
      beta: { headers: { ...bearer(key), 'openai-beta': 'assistants=v2' }, body: chat('gpt-4o-mini') },
    };
    const first: Record<string, string> = {};
    for (const [name, request] of Object.entries(variants)) {
      const answer = await ask(at, request);
      expect(answer.cache, name).toBe('MISS');
      first[name] = answer.text;
    }
    expect(new Set(Object.values(first)).size).toBe(Object.keys(variants).length);
    expect(first.otherModel).not.toBe(first.base);
    expect(first.apiVersion1).toContain('api-version=2024-01');
    expect(first.apiVersion2).toContain('api-version=2024-02');
    expect(first.otherKey).toContain(variants.otherKey!.headers!.authorization!.slice(-6));
    expect(first.beta).toContain('openai-beta=assistants=v2');
    // Every variant, once stored, answers with its own first text and nobody else's.
    for (const [name, request] of Object.entries(variants)) {
      const hit = await stored(at, request);
      expect(hit.text, name).toBe(first[name]);
    }
    expect(upstream.server.count()).toBe(Object.keys(variants).length);
  });

  it('two proxies on one store with different upstreams never answer for each other', async () => {
    const store = `sqlite://${join(dir, 'shared.sqlite')}`;
    const small = originOf(await proxyOn(store, '/llama-8b'));
    const large = originOf(await proxyOn(store, '/llama-70b'));
    const request: Ask = { headers: bearer(secretKey('shared')), prompt: 'which model am I?' };
    const eight = await stored(small, request);
    expect(eight.text).toContain('/llama-8b/v1/chat/completions');
    const seventy = await ask(large, request);
    expect(seventy.cache).toBe('MISS');
    expect(seventy.text).toContain('/llama-70b/v1/chat/completions');
    expect((await stored(large, request)).text).toBe(seventy.text);
    expect((await ask(small, request)).text).toBe(eight.text);
  });

  it('the Node path and the fetch path share the entry of one request, and only of that request', async () => {
    const proxy = await proxyOn(`sqlite://${join(dir, 'paths.sqlite')}`);
    const node = originOf(proxy);
    const viaFetch = await fetchPathOf(proxy);
    const request: Ask = { headers: bearer(secretKey('paths')), prompt: 'one entry' };
    const written = await stored(node, request);
    const read = await ask(viaFetch, request);
    expect(read).toMatchObject({ cache: 'HIT', namespace: written.namespace, text: written.text });
    // Another tenant through the fetch path, and another query through the Node path: their own entries.
    const other = await ask(viaFetch, { ...request, headers: bearer(secretKey('paths-other')) });
    expect(other.cache).toBe('MISS');
    expect(other.text).not.toBe(written.text);
    const query = await ask(node, { ...request, path: '/v1/chat/completions?tenant=x' });
    expect(query.cache).toBe('MISS');
    expect(query.text).toContain('?tenant=x');
  });
});
