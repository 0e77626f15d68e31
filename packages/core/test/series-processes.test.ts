import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { redisUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { type CacheStats, createCache, readStoredSeries } from '../src/index.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/series-worker.ts', import.meta.url));
const OPERATIONS = 300;

async function spawnWorker(url: string, namespace: string, seed: number): Promise<CacheStats> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=@llmemo/source', worker, url, namespace, String(seed), String(OPERATIONS)],
    { timeout: 90_000 },
  );
  return JSON.parse(stdout) as CacheStats;
}

describe.each([
  ['SQLite', () => `sqlite://${join(tempDir(), 'series.sqlite')}`],
  ['Redis', () => redisUrl()],
  ['file', () => `file://${join(tempDir(), 'series-files')}`],
])('bucketed counters from 4 processes on one %s store', (_name, url) => {
  it('add up exactly: totals, minute and hour buckets, and the chart points', async () => {
    const store = url();
    const namespace = uniqueNamespace('series-4');
    const reports = await Promise.all([1, 2, 3, 4].map((seed) => spawnWorker(store, namespace, seed)));
    const sum = (field: 'hits' | 'misses' | 'bypasses' | 'writes' | 'timeSavedMs') =>
      reports.reduce((total, report) => total + report[field], 0);
    const expected = {
      hits: sum('hits'),
      misses: sum('misses'),
      bypasses: sum('bypasses'),
      writes: sum('writes'),
      timeSavedMs: sum('timeSavedMs'),
      inputTokensSaved: 3 * sum('hits'),
      outputTokensSaved: 2 * sum('hits'),
    };
    // The mix is fixed: 270 keyed calls and 30 bypasses per process; every hit saved its entry's 7 ms.
    expect(expected).toMatchObject({ bypasses: 120, timeSavedMs: 7 * expected.hits });
    expect(expected.hits + expected.misses).toBe(4 * 270);
    expect(expected.hits).toBeGreaterThan(500);

    const cache = createCache({ store, namespace, persistStats: false });
    try {
      expect((await cache.storedStats()).totals).toMatchObject(expected);
      expect((await cache.storedStats({ range: '24h' })).totals).toMatchObject(expected);
      expect((await cache.storedStats({ range: '7d' })).totals).toMatchObject(expected);
      const day = await readStoredSeries(cache.store, { range: '24h', namespace });
      expect(day.points.reduce((total, point) => total + point.hits, 0)).toBe(expected.hits);
      const byModel = Object.fromEntries(day.rows.map((row) => [row.model, row.bypasses]));
      expect(byModel).toEqual({ 'model-a': 80, 'model-b': 40 });
    } finally {
      await cache.close();
    }
  }, 120_000);
});
