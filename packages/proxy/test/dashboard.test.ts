import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, apiKey, originOf, post, useHarness, user } from './helpers.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';

function get(proxy: { url: string }, path: string, token?: string): Promise<Response> {
  return fetch(`${proxy.url.replace(/\/v1$/, '')}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    redirect: 'manual',
  });
}

/** The value of one sample in Prometheus text format. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /dashboard', () => {
  it('is off without an admin token (404), and never forwarded upstream', async () => {
    const proxy = await h.proxy({ adminToken: undefined });
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/api/overview', '/dashboard/app.js']) {
      const response = await get(proxy, path, ADMIN_TOKEN);
      expect(response.status, path).toBe(404);
      expect((await response.json()).error.code).toBe('admin_disabled');
    }
    expect(h.server.count()).toBe(0);
  });

  it('serves the page to anyone, and its API only with the admin token as a bearer header', async () => {
    const proxy = await h.proxy();
    const redirect = await get(proxy, '/dashboard');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/dashboard/');
    const page = await get(proxy, '/dashboard/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="signin"');
    expect(await (await get(proxy, '/dashboard/api/auth')).json()).toEqual({ required: true });

    for (const token of [undefined, 'wrong-token', `${ADMIN_TOKEN}x`]) {
      const refused = await get(proxy, '/dashboard/api/overview', token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('Bearer');
      expect((await get(proxy, '/dashboard/api/entries', token)).status).toBe(401);
    }
    // Not a query parameter, not a cookie: only the header opens it.
    expect((await get(proxy, `/dashboard/api/overview?token=${ADMIN_TOKEN}`)).status).toBe(401);
    const cookie = await fetch(`${originOf(proxy)}/dashboard/api/overview`, {
      headers: { cookie: `token=${ADMIN_TOKEN}; llmemo=${ADMIN_TOKEN}` },
    });
    expect(cookie.status).toBe(401);
    const post_ = await fetch(`${originOf(proxy)}/dashboard/api/overview`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(post_.status).toBe(405);
    expect(h.server.count()).toBe(0);
  });

  it("counts the proxy's own traffic: a miss, a hit and the upstream time it saved", async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    h.server.setLatency({ responseMs: 40 });
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('dashboard me') }, { key });
    await proxy.proxy.flush();
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('dashboard me') }, { key });
    const response = await get(proxy, '/dashboard/api/overview?range=24h', ADMIN_TOKEN);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const overview = await response.json();
    expect(overview.totals).toMatchObject({ hits: 1, misses: 1, writes: 1, requests: 2 });
    expect(overview.totals.timeSavedMs).toBeGreaterThanOrEqual(40);
    expect(overview.entries.entries).toBe(1);
    expect(overview.models.map((group: { name: string }) => group.name)).toEqual(['gpt-4o-mini']);
    expect(overview.live.breaker).toEqual({ state: 'closed', opens: 0 });
    const entries = await (await get(proxy, '/dashboard/api/entries', ADMIN_TOKEN)).json();
    expect(entries.items).toHaveLength(1);
    expect(JSON.stringify(entries)).not.toContain('dashboard me');
    expect(JSON.stringify(entries)).not.toContain(key);
  });
});

describe('GET /metrics', () => {
  it('has the age and remaining-TTL histograms of the stored entries, time saved, stale hits and bypasses', async () => {
    const proxy = await h.proxy({ cache: { store: 'memory://', ttl: '2h' } });
    const key = apiKey();
    for (const text of ['one', 'two', 'three']) {
      await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user(text) }, { key });
    }
    await proxy.proxy.flush();
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('one') }, { key });
    const text = await (await fetch(`${originOf(proxy)}/metrics`)).text();
    expect(text).toContain('# TYPE llmemo_cache_entry_age_seconds histogram');
    expect(sample(text, 'llmemo_cache_entry_age_seconds_bucket{le="60"}')).toBe(3);
    expect(sample(text, 'llmemo_cache_entry_age_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(sample(text, 'llmemo_cache_entry_age_seconds_count')).toBe(3);
    // Two hours to live: more than an hour left, less than six.
    expect(sample(text, 'llmemo_cache_entry_ttl_seconds_bucket{le="3600"}')).toBe(0);
    expect(sample(text, 'llmemo_cache_entry_ttl_seconds_bucket{le="21600"}')).toBe(3);
    expect(sample(text, 'llmemo_cache_entry_ttl_seconds_sum')).toBeGreaterThan(3 * 7000);
    expect(sample(text, 'llmemo_cache_time_saved_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'llmemo_cache_stale_hits_total')).toBe(0);
    expect(sample(text, 'llmemo_cache_evictions_total')).toBe(0);
    expect(text).toContain('llmemo_cache_bypasses_total');
  });
});

describe('examples/grafana/llmemo-proxy.json', () => {
  it('queries only metrics the proxy exports, with valid JSON and a Prometheus data source input', async () => {
    const file = new URL('../../../examples/grafana/llmemo-proxy.json', import.meta.url);
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
      __inputs: { pluginId: string }[];
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.__inputs.map((input) => input.pluginId)).toEqual(['prometheus']);
    const proxy = await h.proxy();
    await post(proxy, CHAT, { model: 'gpt-4o-mini', messages: user('grafana') }, { key: apiKey() });
    const exported = new Set(
      [...(await (await fetch(`${originOf(proxy)}/metrics`)).text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(
        (match) => match[1],
      ),
    );
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        for (const [name] of target.expr.matchAll(/llmemo_[a-z_]+/g))
          queried.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    expect(queried.size).toBeGreaterThan(10);
    for (const name of queried) expect(exported, name).toContain(name);
  });
});
