import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { redisUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/mixed-worker.ts', import.meta.url));
const OPERATIONS = 400;

interface Report {
  events: number;
  thrown: number;
  wrong: number;
  hits: number;
}

async function spawnWorker(url: string, namespace: string, seed: number): Promise<Report> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=@llmemo/source', worker, url, namespace, String(seed), String(OPERATIONS)],
    { timeout: 90_000 },
  );
  return JSON.parse(stdout) as Report;
}

describe.each([
  ['SQLite', () => `sqlite://${join(tempDir(), 'shared.sqlite')}`],
  ['Redis', () => redisUrl()],
])('4 processes on one %s store', (_name, url) => {
  it('lose nothing, corrupt nothing, and surface no error to a caller', async () => {
    const store = url();
    const namespace = uniqueNamespace('multi');
    const reports = await Promise.all([1, 2, 3, 4].map((seed) => spawnWorker(store, namespace, seed)));
    for (const report of reports) expect(report).toMatchObject({ thrown: 0, wrong: 0, events: 0 });
    // Hits prove the processes really shared entries.
    expect(reports.reduce((sum, report) => sum + report.hits, 0)).toBeGreaterThan(OPERATIONS);

    // Every entry left in the store decodes to exactly the right answer.
    const cache = createCache({ store, namespace, timeoutMs: 2000 });
    let present = 0;
    for (let k = 0; k < 40; k++) {
      const value = await cache.get<{ answer: string }>({
        kind: 'chat',
        provider: 'p',
        model: 'm',
        input: `question ${k}`,
      });
      if (value !== undefined) {
        expect(value.answer).toBe(`answer ${k}`);
        present++;
      }
    }
    await cache.close();
    expect(present).toBeGreaterThan(20);
  });
});
