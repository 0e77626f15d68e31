import { join } from 'node:path';
import { createCache, type ResponseCache } from '@llmemo/core';
import { redisUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard, type EntriesPage, type Overview, SnapshotCache } from '../src/index.js';
import { fillStore, PRICES, type Traffic } from './fixtures/traffic.js';

const HOUR = 3_600_000;

async function get<T>(dashboard: Dashboard, path: string, init: RequestInit = {}): Promise<T> {
  const response = await dashboard.fetch(new Request(`http://127.0.0.1${path}`, init));
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

describe.each([
  ['SQLite', () => `sqlite://${join(tempDir(), 'dashboard.sqlite')}`],
  ['Redis', () => redisUrl()],
])('the JSON API over a %s store filled by a scripted run', (_name, storeUrl) => {
  let cache: ResponseCache;
  let dashboard: Dashboard;
  let traffic: Traffic;
  let app: string;
  let batch: string;
  // Redis is shared with other tests: every query is narrowed to this run's namespaces.
  let scope: string;
  let filledFrom: number;

  beforeAll(async () => {
    filledFrom = Date.now();
    const store = storeUrl();
    const prefix = `${uniqueNamespace('dash')}-`;
    traffic = await fillStore(store, prefix);
    [app, batch] = [`${prefix}app`, `${prefix}batch`];
    cache = createCache({ store, persistStats: false, pruneInterval: false });
    dashboard = createDashboard({ cache, prices: PRICES, live: false });
    scope = store.startsWith('redis') ? `&namespace=${encodeURIComponent(app)}` : '';
  });
  afterAll(async () => {
    await cache?.close();
  });

  it('the script counted what it did', () => {
    expect(traffic).toMatchObject({ hits: 25, staleHits: 1, misses: 13, bypasses: 3, writes: 14, timeSavedMs: 7000 });
  });

  it('overview: the range totals are the scripted counts, and the range switch adds the history', async () => {
    const day = await get<Overview>(dashboard, `/api/overview?range=24h&namespace=${encodeURIComponent(app)}`);
    // The app namespace alone: everything but the four embedding misses and hits of the batch namespace.
    expect(day.totals).toMatchObject({
      hits: 21,
      staleHits: 1,
      misses: 9,
      bypasses: 3,
      requests: 33,
      inputTokensSaved: 3900,
      outputTokensSaved: 1950,
      timeSavedMs: 6800,
    });
    expect(day.totals.hitRate).toBeCloseTo(21 / 30, 12);
    expect(day.totals.moneySaved).toBeCloseTo((1900 * 0.15 + 950 * 0.6 + 2000 * 2.5 + 1000 * 10) / 1e6, 12);
    expect(day.series).toHaveLength(96);
    expect(day.series.reduce((sum, point) => sum + point.hits, 0)).toBe(21);
    expect(day.range).toMatchObject({ range: '24h', resolution: 'minute' });
    // Per-entry hits, flushed with the counters: the app's six questions were hit three times each, the two hard
    // questions and the short-lived one (a stale hit) once.
    expect(day.top?.map((item) => item.hits)).toEqual([3, 3, 3, 3, 3, 3, 1, 1, 1]);
    expect(day.top?.slice(0, 6).every((item) => item.model === 'gpt-4o-mini')).toBe(true);
    // Every hit was in this run. The six questions were hit after they were written; the short-lived entry's one
    // (stale) hit was of the version its background refresh then replaced, so its last hit can precede the
    // current version's createdAt (CI saw 1 ms before).
    for (const item of day.top ?? []) expect(item.lastHitAt).toBeGreaterThanOrEqual(filledFrom);
    for (const item of day.top?.slice(0, 6) ?? []) expect(item.lastHitAt).toBeGreaterThanOrEqual(item.createdAt);
    const ranked = await get<EntriesPage>(
      dashboard,
      `/api/entries?sort=hits&limit=100&namespace=${encodeURIComponent(app)}`,
    );
    // Every hit of the namespace is on some entry: the per-entry counts add up to the counter.
    expect(ranked.items.reduce((sum, item) => sum + (item.hits ?? 0), 0)).toBe(day.totals.hits);

    const week = await get<Overview>(dashboard, `/api/overview?range=7d&namespace=${encodeURIComponent(app)}`);
    expect(week.totals).toMatchObject({ hits: 21 + 40, misses: 9 + 10 });
    expect(week.series).toHaveLength(168);
    const month = await get<Overview>(dashboard, `/api/overview?range=30d&namespace=${encodeURIComponent(app)}`);
    expect(month.totals).toMatchObject({ hits: 61, misses: 19 });
    expect(month.series).toHaveLength(120);
    // The history lands in the point of its hour.
    const historyPoint = week.series.find((point) => point.hits === 40);
    expect(historyPoint?.at).toBeGreaterThan(Date.now() - 73 * HOUR);
  });

  it('overview: entries by namespace, model and kind, and age and TTL histograms that add up', async () => {
    const both = async (namespace: string) =>
      get<Overview>(dashboard, `/api/overview?range=24h&namespace=${encodeURIComponent(namespace)}`);
    const [a, b] = [await both(app), await both(batch)];
    expect(a.entries!.entries + b.entries!.entries).toBe(traffic.entries);
    expect(a.namespaces.map((g) => [g.name, g.entries])).toEqual([[app, 9]]);
    expect(b.kinds).toEqual([{ name: 'embedding', entries: 4, bytes: b.entries!.bytes }]);
    expect(Object.fromEntries(a.models.map((g) => [g.name, g.entries]))).toEqual({ 'gpt-4o-mini': 7, 'gpt-4o': 2 });
    const gpt4o = a.models.find((g) => g.name === 'gpt-4o')!;
    expect(gpt4o).toMatchObject({ hits: 2, misses: 2, inputTokensSaved: 2000 });
    for (const overview of [a, b]) {
      const { age, ttl, entries, neverExpire, expired } = overview.entries!;
      expect(age.counts.reduce((x, y) => x + y, 0)).toBe(entries);
      expect(ttl.counts.reduce((x, y) => x + y, 0) + neverExpire + expired).toBe(entries);
      expect(age.bounds.at(-1)).toBeNull();
    }
    // Back-dated entries: 2 days, 10 days and 40 days old.
    expect(a.entries!.age.counts.slice(5)).toEqual([1, 1, 1]);
    // The embeddings never expire; gpt-4o entries expire within the hour.
    expect(b.entries!.neverExpire).toBe(4);
    expect(a.entries!.ttl.counts[2]).toBe(2);
  });

  it('entries: pages of one snapshot, in order, without prompt text', async () => {
    const pages: EntriesPage[] = [];
    for (let offset = 0; offset < 9; offset += 4) {
      pages.push(
        await get<EntriesPage>(
          dashboard,
          `/api/entries?sort=oldest&limit=4&offset=${offset}&namespace=${encodeURIComponent(app)}`,
        ),
      );
    }
    expect(pages.map((page) => page.items.length)).toEqual([4, 4, 1]);
    expect(new Set(pages.map((page) => page.scannedAt)).size).toBe(1);
    const items = pages.flatMap((page) => page.items);
    expect(new Set(items.map((item) => item.key)).size).toBe(9);
    const created = items.map((item) => item.createdAt);
    expect(created).toEqual([...created].sort((x, y) => x - y));
    expect(Date.now() - created[0]!).toBeGreaterThan(39 * 24 * HOUR);
    expect(JSON.stringify(items)).not.toMatch(/question|answer/);
    const slowest = await get<EntriesPage>(
      dashboard,
      `/api/entries?sort=slowest&limit=2&namespace=${encodeURIComponent(app)}`,
    );
    expect(slowest.items.map((item) => [item.model, item.computeMs])).toEqual([
      ['gpt-4o', 1500],
      ['gpt-4o', 1500],
    ]);
    const models = await get<EntriesPage>(dashboard, `/api/entries?model=text-embedding-3-small${scope}`);
    expect(models.total).toBe(scope ? 0 : 4);
  });
});

describe('the HTTP surface', () => {
  let cache: ResponseCache;
  beforeAll(() => {
    cache = createCache({ store: 'memory://' });
  });
  afterAll(async () => {
    await cache.close();
  });

  it('serves the page and its files with a strict CSP, and nothing else', async () => {
    const dashboard = createDashboard({ cache, basePath: '/dashboard' });
    const request = (path: string) => dashboard.fetch(new Request(`http://proxy.local${path}`));
    const redirect = await request('/dashboard');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/dashboard/');
    const page = await request('/dashboard/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('<title>llmemo cache</title>');
    const uplot = await request('/dashboard/vendor/uPlot.iife.min.js');
    expect(uplot.status).toBe(200);
    expect((await uplot.text()).length).toBeGreaterThan(20_000);
    const etag = uplot.headers.get('etag')!;
    expect(
      (
        await dashboard.fetch(
          new Request('http://proxy.local/dashboard/app.js', { headers: { 'if-none-match': etag } }),
        )
      ).status,
    ).toBe(200);
    for (const path of ['/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/src/app.ts']) {
      expect((await request(path)).status).toBe(404);
    }
    const api = await request('/dashboard/api/overview?range=1y');
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: { message: string } }).error.message).toMatch(/'24h', '7d', '30d'/);
    expect((await request('/dashboard/api/nothing')).status).toBe(404);
    expect((await request('/dashboard/api/entries?sort=random')).status).toBe(400);
    expect((await request('/dashboard/api/entries?limit=100000')).status).toBe(400);
  });

  it('asks `authorize` before every API answer, and says so on api/auth', async () => {
    const dashboard = createDashboard({
      cache,
      authorize: (request) =>
        request.headers.get('authorization') === 'Bearer right' ? undefined : new Response(null, { status: 401 }),
    });
    const call = (path: string, token?: string) =>
      dashboard.fetch(
        new Request(`http://x${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : undefined),
      );
    expect(await (await call('/api/auth')).json()).toEqual({ required: true });
    expect((await call('/api/overview')).status).toBe(401);
    expect((await call('/api/entries', 'wrong')).status).toBe(401);
    expect((await call('/api/overview', 'right')).status).toBe(200);
    expect((await call('/index.html')).status).toBe(200); // the page itself holds no data
  });

  it('answers with the counters while a first scan of the entries is still running', async () => {
    await cache.getOrCompute({ kind: 'chat', provider: 'p', model: 'm', input: 'x' }, async () => 'X');
    await cache.flush();
    // A store whose scan takes longer than the overview waits (a large Redis, say).
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = Object.create(cache) as ResponseCache;
    slow.entries = (...args) =>
      (async function* () {
        await gate;
        yield* cache.entries(...args);
      })();
    const dashboard = createDashboard({ cache, snapshots: new SnapshotCache(slow) });
    const first = await get<Overview>(dashboard, '/api/overview');
    expect(first).toMatchObject({ entriesPending: true, entries: null });
    expect(first.totals.misses).toBe(1);
    release();
    await expect
      .poll(async () => (await get<Overview>(dashboard, '/api/overview')).entries?.entries, { timeout: 5000 })
      .toBe(1);
  });

  it('ranks the top entries by their real hit counts (memory://, counted in this process)', async () => {
    const counted = createCache({ store: 'memory://', namespace: 'top', persistStats: '1h' });
    const hitsOf: Record<string, number> = { a: 5, b: 12, c: 0 };
    const started = Date.now();
    for (const [text, hits] of Object.entries(hitsOf)) {
      const request = { kind: 'chat', provider: 'p', model: `model-${text}`, input: text };
      await counted.set(request, text);
      for (let i = 0; i < hits; i++) await counted.getOrCompute(request, async () => 'unused');
    }
    await counted.flushStats();
    const dashboard = createDashboard({ cache: counted, live: false });
    const overview = await get<Overview>(dashboard, '/api/overview');
    // An entry never hit has no hit record: it is not ranked.
    expect(overview.top?.map((item) => [item.model, item.hits])).toEqual([
      ['model-b', 12],
      ['model-a', 5],
    ]);
    expect(overview.top?.[0]?.lastHitAt).toBeGreaterThanOrEqual(started);
    const page = await get<EntriesPage>(dashboard, '/api/entries?sort=hits&limit=2');
    expect(page.items.map((item) => item.hits)).toEqual([12, 5]);
    await counted.close();
  });

  it('answers only the allowed Host names (DNS rebinding)', async () => {
    const dashboard = createDashboard({ cache, allowedHosts: ['127.0.0.1:4777', 'localhost:4777'] });
    const call = (host: string) =>
      dashboard.fetch(new Request('http://127.0.0.1:4777/api/overview', { headers: { host } }));
    expect((await call('127.0.0.1:4777')).status).toBe(200);
    expect((await call('LOCALHOST:4777')).status).toBe(200);
    expect((await call('attacker.example:4777')).status).toBe(421);
  });
});
