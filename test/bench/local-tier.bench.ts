import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCache, decode, type RedisStore } from '@llmemo/core';
import { startRedisServer } from '@llmemo/test-support/redis';
import { chatRequest } from './fixtures.js';
import { formatUs, measure, type Row, type Suite, table } from './harness.js';

const run = promisify(execFile);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));
const SECONDS = 5;
const CONCURRENCY = 32;
const PROCESSES = 2;
/** Issue 14's "today" column: getOrCompute hits/s from 2 processes × 32 callers on one Redis, without a tier. */
const TODAY_HITS_PER_SECOND = '42,560–59,770/s (without)';

const answer = { content: [{ type: 'text', text: 'The weather in Paris is mild. '.repeat(20) }], finishReason: 'stop' };
const compute = () => {
  throw new Error('a hit must not compute');
};

/** getOrCompute on a hit: Redis with the tier vs memory://, plus what a decoded-value tier would save per hit. */
async function hitLatency(url: string): Promise<string> {
  const request = chatRequest(2_000);
  const memory = createCache({ store: 'memory://', timeoutMs: 5000, persistStats: false });
  const tiered = createCache({ store: url, timeoutMs: 5000, persistStats: false, local: true });
  const plain = createCache({ store: url, timeoutMs: 5000, persistStats: false });
  const rows: Row[] = [];
  try {
    await memory.set(request, answer);
    await tiered.set(request, answer);
    await tiered.getOrCompute(request, compute);
    if ((tiered.store as RedisStore).localTier?.size !== 1) throw new Error('the tier did not fill');
    const cases = {
      memory: () => memory.getOrCompute(request, compute),
      tiered: () => tiered.getOrCompute(request, compute),
      plain: () => plain.getOrCompute(request, compute),
    };
    // One short pass first, so neither side pays the JIT warm-up in the measured pass (tinybench runs in order).
    await measure(cases, { timeMs: 200 });
    const results = await measure(cases);
    rows.push({
      scenario: 'Redis hit with the local tier vs memory:// hit (today: n/a)',
      measured: results.tiered!,
      baseline: results.memory!,
      target: '≤ 1.2×',
    });
    rows.push({
      scenario: 'Redis hit with the local tier vs without it',
      measured: results.tiered!,
      baseline: results.plain!,
    });
    // The tier holds what Redis holds (encoded text): every hit still decodes the entry. A tier of decoded values
    // would instead hand each caller a copy (callers may mutate what they get); compare the two per-hit costs.
    const stored = (await tiered.store.get(tiered.key(request))) ?? '';
    const decoded = await tiered.get(request);
    const open = await measure({ open: () => decode(stored), copy: () => structuredClone(decoded) });
    rows.push({
      scenario: `decode the ${stored.length} B stored entry (tier of encoded entries) vs structuredClone the answer (tier of decoded values)`,
      measured: open.open!,
      baseline: open.copy!,
    });
  } finally {
    await Promise.all([memory.close(), tiered.close(), plain.close()]);
  }
  rows.push(await sealedHits(url, request));
  return table('Local tier: hit latency (getOrCompute, 2 KB request)', rows);
}

/** With encryption and compression on, both sides open the sealed entry on every hit. */
async function sealedHits(url: string, request: ReturnType<typeof chatRequest>): Promise<Row> {
  const sealing = {
    timeoutMs: 5000,
    persistStats: false,
    encryption: { key: Buffer.alloc(32, 7).toString('base64') },
    compression: { algorithm: 'gzip' as const, threshold: 256 },
  };
  const memory = createCache({ ...sealing, store: 'memory://' });
  const tiered = createCache({ ...sealing, store: url, namespace: 'sealed', local: true });
  try {
    await memory.set(request, answer);
    await tiered.set(request, answer);
    await tiered.get(request);
    const cases = {
      tiered: () => tiered.getOrCompute(request, compute),
      memory: () => memory.getOrCompute(request, compute),
    };
    await measure(cases, { timeMs: 200 });
    const results = await measure(cases);
    return {
      scenario: 'same, encrypted + gzip: Redis hit with the local tier vs memory:// hit',
      measured: results.tiered!,
      baseline: results.memory!,
      target: '≤ 1.2×',
    };
  } finally {
    await Promise.all([memory.close(), tiered.close()]);
  }
}

async function throughput(mode: 'llmemo' | 'local' | 'raw', url: string): Promise<number> {
  const results = await Promise.all(
    Array.from({ length: PROCESSES }, () =>
      run(
        process.execPath,
        ['--import', tsx, here('./load-worker.ts'), mode, url, String(SECONDS), String(CONCURRENCY)],
        { timeout: 60_000 },
      ),
    ),
  );
  return results.reduce((sum, { stdout }) => sum + (JSON.parse(stdout) as { perSecond: number }).perSecond, 0);
}

/** One writer process changes a key; the next fresh read in a reader process with the tier (ms, loopback). */
async function invalidationDelay(url: string): Promise<{ p50: number; p99: number; n: number }> {
  const { stdout } = await run(process.execPath, ['--import', tsx, here('./tier-delay-worker.ts'), url, '200'], {
    timeout: 120_000,
  });
  return JSON.parse(stdout) as { p50: number; p99: number; n: number };
}

export const suite: Suite = {
  name: 'tier',
  async run() {
    const redis = await startRedisServer();
    try {
      let out = await hitLatency(redis.url);
      const local = await throughput('local', redis.url);
      const plain = await throughput('llmemo', redis.url);
      const raw = await throughput('raw', redis.url);
      const n = (value: number) => `${Math.round(value).toLocaleString('en')}/s`;
      out += `\n### Local tier: getOrCompute hits/s on one Redis (${PROCESSES} processes × ${CONCURRENCY} callers, ${SECONDS} s)\n\n`;
      out += '| scenario | measured | today | without the tier (this run) | raw Keyv get (this run) | target |\n';
      out += '|---|---|---|---|---|---|\n';
      out += `| getOrCompute hits with the local tier | ${n(local)} | ${TODAY_HITS_PER_SECOND} | ${n(plain)} | ${n(raw)} | ≥ 150,000/s |\n`;
      const delay = await invalidationDelay(redis.url);
      out += '\n### Local tier: write in one process → first fresh read in another (loopback)\n\n';
      out += '| changes | p50 | p99 |\n|---|---|---|\n';
      out += `| ${delay.n} | ${formatUs(delay.p50 * 1000)} | ${formatUs(delay.p99 * 1000)} |\n`;
      return out;
    } finally {
      await redis.stop();
    }
  },
};
