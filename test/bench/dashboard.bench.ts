import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type CounterRow, createCache, emptyCounters, type ResponseCache, SqliteStore } from '@llmemo/core';
import { createDashboard } from '@llmemo/dashboard';
import { tempDir } from '@llmemo/test-support';
import { startRedisServer } from '@llmemo/test-support/redis';
import type { Suite } from './harness.js';

const ENTRIES = 100_000;
const BATCH = 5000;
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4', 'text-embedding-3-small', 'llama-3.1-70b'];
const BODY = { text: 'x'.repeat(800) };
const DAY = 86_400_000;

/** One stored entry as llmemo writes it (envelope inside Keyv's wrapper), ~1 KB, created up to 30 days ago. */
function entry(i: number, now: number): { key: string; value: string; ttl: number } {
  const namespace = `tenant-${i % 20}`;
  const model = MODELS[i % MODELS.length]!;
  const kind = model.startsWith('text-embedding') ? 'embedding' : 'chat';
  const digest = randomBytes(32).toString('hex');
  const createdAt = now - Math.floor(Math.random() * 30 * DAY);
  const expiresAt = createdAt + 31 * DAY;
  const envelope = {
    v: 1,
    kind,
    ns: namespace,
    provider: 'p',
    model,
    digest,
    createdAt,
    expiresAt,
    usage: { inputTokens: 120, outputTokens: 80 },
    computeMs: 400 + (i % 900),
    body: BODY,
  };
  return {
    key: `llmemo:v1:${namespace}:${kind}:p:${model}:${digest}`,
    value: JSON.stringify({ value: JSON.stringify(envelope), expires: expiresAt }),
    ttl: expiresAt - now,
  };
}

/** A day of minute buckets and a month of hour buckets, for every namespace and model. */
function counters(now: number): CounterRow[] {
  const rows: CounterRow[] = [];
  for (let minute = 0; minute < 1440; minute += 7) {
    for (const model of MODELS) {
      rows.push({ ...emptyCounters('tenant-1', model), hits: 30, misses: 10, at: now - minute * 60_000 });
    }
  }
  for (let hour = 24; hour < 30 * 24; hour += 3) {
    rows.push({ ...emptyCounters('tenant-2', 'gpt-4o'), hits: 300, misses: 100, at: now - hour * 3_600_000 });
  }
  return rows;
}

async function fillSqlite(url: string, now: number): Promise<void> {
  const store = new SqliteStore(url);
  await store.ready();
  for (let start = 0; start < ENTRIES; start += BATCH) {
    const rows = Array.from({ length: BATCH }, (_, j) => entry(start + j, now)).map((e) => [e.key, e.value]);
    await store.query(
      `INSERT INTO ${store.table} (key, value) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)`,
      JSON.stringify(rows),
    );
  }
  await store.addCounters(counters(now));
  await store.close();
}

async function fillRedis(cache: ResponseCache, now: number): Promise<void> {
  await cache.store.ready();
  const client = (
    cache.store as unknown as { client: { set(k: string, v: string, o: { PX: number }): Promise<unknown> } }
  ).client;
  for (let start = 0; start < ENTRIES; start += BATCH) {
    await Promise.all(
      Array.from({ length: BATCH }, (_, j) => entry(start + j, now)).map((e) =>
        client.set(e.key, e.value, { PX: e.ttl }),
      ),
    );
  }
  await cache.store.addCounters(counters(now));
}

async function timed(fn: () => Promise<Response>): Promise<{ ms: number; body: Record<string, unknown> }> {
  const started = performance.now();
  const response = await fn();
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  const body = (await response.json()) as Record<string, unknown>;
  return { ms: performance.now() - started, body };
}

async function measureStore(label: string, cache: ResponseCache): Promise<string> {
  const dashboard = createDashboard({ cache, live: false });
  const get = (path: string) => () => dashboard.fetch(new Request(`http://bench${path}`));
  // The first overview starts the scan; it answers with the entries if the scan ends within 1 s.
  const first = await timed(get('/api/overview?range=24h'));
  const scan = (await dashboard.snapshots.get()).scanMs;
  const warm = await timed(get('/api/overview?range=7d'));
  const page = await timed(get('/api/entries?sort=newest&limit=50&offset=500'));
  const ms = (n: number) => `${Math.round(n).toLocaleString('en')} ms`;
  const complete = first.body.entriesPending ? 'counters only' : 'with entries';
  return `| ${label} | ${ms(first.ms)} (${complete}) | ${ms(scan)} | ${ms(warm.ms)} | ${ms(page.ms)} |\n`;
}

export const suite: Suite = {
  name: 'dashboard',
  async run() {
    const now = Date.now();
    let out = `### Dashboard: the overview of a store with ${ENTRIES.toLocaleString('en')} entries (~1 KB each)\n\n`;
    out +=
      "First: the first overview, which starts a scan of every entry's metadata and waits up to 1 s for it (the counters never wait); scan: that scan; warm: another range, from the same scan.\n\n";
    out += '| store | first overview | scan of all entries | overview, warm | a page of 50 entries |\n';
    out += '|---|---|---|---|---|\n';
    const sqlite = `sqlite://${join(tempDir(), 'dashboard-bench.sqlite')}`;
    await fillSqlite(sqlite, now);
    const onSqlite = createCache({ store: sqlite, persistStats: false, pruneInterval: false, timeoutMs: 60_000 });
    try {
      out += await measureStore('SQLite', onSqlite);
    } finally {
      await onSqlite.close();
    }
    const redis = await startRedisServer();
    const onRedis = createCache({ store: redis.url, persistStats: false, timeoutMs: 60_000 });
    try {
      await fillRedis(onRedis, now);
      out += await measureStore('Redis', onRedis);
    } finally {
      await onRedis.close();
      await redis.stop();
    }
    return out;
  },
};
