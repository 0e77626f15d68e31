import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRedisServer } from '@llmemo/test-support/redis';
import type { Suite } from './harness.js';

const run = promisify(execFile);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));
const SECONDS = 5;
const CONCURRENCY = 32;
const PROCESSES = 2; // one per core of the machines we run on

async function throughput(mode: 'llmemo' | 'raw', url: string): Promise<number> {
  const results = await Promise.all(
    Array.from({ length: PROCESSES }, () =>
      run(
        process.execPath,
        ['--import', tsx, here('./load-worker.ts'), mode, url, String(SECONDS), String(CONCURRENCY)],
        {
          timeout: 60_000,
        },
      ),
    ),
  );
  return results.reduce((sum, { stdout }) => sum + (JSON.parse(stdout) as { perSecond: number }).perSecond, 0);
}

const MiB = 1024 * 1024;

async function memory(maxBytes: number) {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', tsx, here('./memory-worker.ts'), String(maxBytes)],
    {
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout) as { held: number; heapDelta: number; rss: number; evictions: number };
}

export const suite: Suite = {
  name: 'load',
  async run() {
    const redis = await startRedisServer();
    let out = '### Load: hits per second on Redis (2 processes × 32 concurrent callers, 2 KB request, 5 s)\n\n';
    try {
      const ours = await throughput('llmemo', redis.url);
      const raw = await throughput('raw', redis.url);
      out += '| scenario | hits/s | baseline (raw Keyv get/s) | ratio |\n|---|---|---|---|\n';
      out += `| getOrCompute hits on Redis | ${Math.round(ours).toLocaleString('en')} | ${Math.round(raw).toLocaleString('en')} | ${(ours / raw).toFixed(2)}× |\n\n`;
    } finally {
      await redis.stop();
    }
    out += '### Memory of a process holding a 100k-entry memory:// store (~1 KB answers)\n\n';
    out += '| maxBytes | entries held | evicted | heap growth | RSS |\n|---|---|---|---|---|\n';
    for (const bound of [32 * MiB, 128 * MiB, 256 * MiB]) {
      const m = await memory(bound);
      out += `| ${bound / MiB} MiB | ${m.held.toLocaleString('en')} | ${m.evictions.toLocaleString('en')} | ${(m.heapDelta / MiB).toFixed(1)} MiB | ${(m.rss / MiB).toFixed(0)} MiB |\n`;
    }
    return out;
  },
};
