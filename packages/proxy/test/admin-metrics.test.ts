import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, apiKey, originOf, post, useHarness, user } from './helpers.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';

function admin(proxy: { url: string }, path: string, init: RequestInit & { token?: string } = {}) {
  const { token = ADMIN_TOKEN, ...rest } = init;
  return fetch(`${proxy.url.replace(/\/v1$/, '')}${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
}

/** The value of one sample in Prometheus text format, e.g. sample(text, 'x_total{endpoint="chat"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('admin API', () => {
  it('is off without a token (404), and refuses a wrong token (401)', async () => {
    const off = await h.proxy({ adminToken: undefined });
    const disabled = await admin(off, '/admin/stats');
    expect(disabled.status).toBe(404);
    expect((await disabled.json()).error.message).toContain('LLMEMO_ADMIN_TOKEN');
    const on = await h.proxy();
    const wrong = await admin(on, '/admin/stats', { token: 'not-the-token-at-all' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    const missing = await fetch(`${originOf(on)}/admin/stats`);
    expect(missing.status).toBe(401);
    // /admin is the proxy's own: never forwarded upstream.
    expect(h.server.count()).toBe(0);
  });

  it('GET /admin/stats reports the cache and proxy counters', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('count me') }, { key });
    await proxy.proxy.flush();
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('count me') }, { key });
    const stats = await (await admin(proxy, '/admin/stats')).json();
    expect(stats.cache).toMatchObject({ hits: 1, misses: 1, writes: 1 });
    expect(stats.proxy.requests_total).toEqual({ 'chat.hit': 1, 'chat.miss': 1 });
    expect(stats.proxy.upstream_requests_total).toEqual({ chat: 1 });
    expect(stats).toMatchObject({ store: 'memory', upstream: h.server.origin, inFlightStreams: 0 });
  });

  it('POST /admin/purge validates the filter and purges by model across namespaces', async () => {
    const proxy = await h.proxy();
    const a = apiKey();
    const b = apiKey();
    for (const key of [a, b]) {
      await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('keep') }, { key });
      await post(proxy, CHAT, { model: 'gpt-4o', messages: user('drop') }, { key });
    }
    await proxy.proxy.flush();
    const unscoped = await admin(proxy, '/admin/purge', { method: 'POST', body: JSON.stringify({ model: 'gpt-4o' }) });
    expect(unscoped.status).toBe(400);
    expect((await unscoped.json()).error.message).toContain('"all": true');
    const unknown = await admin(proxy, '/admin/purge', { method: 'POST', body: JSON.stringify({ all: true, tag: 1 }) });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.message).toContain("no option 'tag'");
    const purged = await admin(proxy, '/admin/purge', {
      method: 'POST',
      body: JSON.stringify({ all: true, model: 'gpt-4o' }),
    });
    expect(await purged.json()).toMatchObject({ deleted: 2 });
    for (const key of [a, b]) {
      expect(
        (await post(proxy, CHAT, { model: 'gpt-4o', messages: user('drop') }, { key })).headers.get('x-cache'),
      ).toBe('MISS');
      expect(
        (await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('keep') }, { key })).headers.get('x-cache'),
      ).toBe('HIT');
    }
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text: hits, misses, latency saved, entries, evictions', async () => {
    const proxy = await h.proxy({ cache: { maxEntries: 2 } });
    const key = apiKey();
    h.server.setLatency({ responseMs: 30 });
    for (const text of ['one', 'two', 'three']) {
      await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user(text) }, { key });
    }
    await proxy.proxy.flush();
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('three') }, { key });
    const response = await fetch(`${originOf(proxy)}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(sample(text, 'llmemo_proxy_requests_total{endpoint="chat",cache="miss"}')).toBe(3);
    expect(sample(text, 'llmemo_proxy_requests_total{endpoint="chat",cache="hit"}')).toBe(1);
    expect(sample(text, 'llmemo_proxy_cache_lookups_total{endpoint="chat",result="hit"}')).toBe(1);
    expect(sample(text, 'llmemo_proxy_latency_saved_seconds_total{endpoint="chat"}')).toBeGreaterThanOrEqual(0.03);
    expect(sample(text, 'llmemo_cache_hits_total')).toBe(1);
    expect(sample(text, 'llmemo_cache_misses_total')).toBe(3);
    expect(sample(text, 'llmemo_cache_entries')).toBe(2);
    expect(sample(text, 'llmemo_cache_evictions_total')).toBe(1);
    expect(text).toContain('# TYPE llmemo_proxy_response_seconds histogram');
  });

  it('can be turned off (the path then goes upstream)', async () => {
    const proxy = await h.proxy({ metrics: false });
    const response = await fetch(`${originOf(proxy)}/metrics`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-cache')).toBe('BYPASS');
    // Paths without /v1 are taken relative to the upstream base (here …/v1).
    expect(h.server.count('/v1/metrics')).toBe(1);
  });
});
