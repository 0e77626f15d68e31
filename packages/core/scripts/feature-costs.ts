// What the at-rest features cost per operation (`node --import tsx --conditions=@llmemo/source
// packages/core/scripts/feature-costs.ts`). A plain timing loop (mean of many sequential calls after a warm-up):
// the numbers are for comparing settings on one machine, not absolute claims. `pnpm bench` is the real harness.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyvSqlite } from '@keyv/sqlite';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Keyv } from 'keyv';
import { type CacheOptions, createCache } from '../src/index.js';

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function time(name: string, iterations: number, fn: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / iterations;
  return `| ${name} | ${us.toFixed(1)} µs |`;
}

const dir = mkdtempSync(join(tmpdir(), 'llmemo-costs-'));
const answer = { text: 'The quick brown fox jumps over the lazy dog. '.repeat(60), finishReason: 'stop' }; // ~2.7 KB
const request = (i: number) => ({ kind: 'chat', provider: 'p', model: 'm', input: `question ${i}` });
const key = randomBytes(32);
const rows: string[] = ['| scenario | mean per call |', '|---|---|'];

const hitVariants: [string, CacheOptions][] = [
  ['memory hit, plain', { metrics: false }],
  ['memory hit, gzip', { compression: 'gzip', metrics: false }],
  ['memory hit, brotli', { compression: 'brotli', metrics: false }],
  ['memory hit, AES-256-GCM', { encryption: { key }, metrics: false }],
  ['memory hit, gzip + AES-256-GCM', { compression: 'gzip', encryption: { key }, metrics: false }],
  [
    'memory hit, OTel metrics to an SDK MeterProvider',
    { metrics: { meterProvider: new MeterProvider({ readers: [new Reader()] }) } },
  ],
];
for (const [name, options] of hitVariants) {
  const cache = createCache({ ...options, persistStats: false });
  await cache.set(request(0), answer);
  rows.push(await time(name, 20_000, () => cache.getOrCompute(request(0), async () => answer)));
  await cache.close();
}

// SQLite writes: the adapter alone (Keyv + @keyv/sqlite, WAL) against llmemo's store (side table kept by triggers).
const plainKeyv = new Keyv({
  store: new KeyvSqlite({ uri: `sqlite://${join(dir, 'plain.sqlite')}`, table: 'llmemo' }),
});
await plainKeyv.get('warm');
const adapter = plainKeyv.store as unknown as { query(sql: string): Promise<unknown> };
await adapter.query('PRAGMA journal_mode=WAL');
await adapter.query('PRAGMA synchronous=NORMAL');
const text = JSON.stringify(answer);
rows.push(
  await time('SQLite set, Keyv + @keyv/sqlite alone (WAL)', 3000, (i) => plainKeyv.set(`k${i}`, text, 3_600_000)),
);
const sqlite = createCache({ store: `sqlite://${join(dir, 'llmemo.sqlite')}`, metrics: false, persistStats: false });
rows.push(
  await time('SQLite set, llmemo store (meta triggers, secure_delete)', 3000, (i) => sqlite.set(request(i), answer)),
);
rows.push(await time('SQLite hit, unbounded', 5000, (i) => sqlite.getOrCompute(request(i % 3000), async () => answer)));
await sqlite.close();
const bounded = createCache({
  store: `sqlite://${join(dir, 'bounded.sqlite')}`,
  maxEntries: 100_000,
  metrics: false,
  persistStats: false,
});
for (let i = 0; i < 3000; i++) await bounded.set(request(i), answer);
rows.push(
  await time('SQLite hit, maxEntries set (access times batched)', 5000, (i) =>
    bounded.getOrCompute(request(i % 3000), async () => answer),
  ),
);
await bounded.close();
await plainKeyv.disconnect();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${rows.join('\n')}\n`);
