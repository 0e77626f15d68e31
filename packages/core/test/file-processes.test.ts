import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/file-worker.ts', import.meta.url));
const ROUNDS = 15;
const SHARED = 20;

interface Report {
  errors: string[];
  wrong: number;
  seen: number;
}

async function spawnWorker(dir: string, id: string): Promise<Report> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=@llmemo/source', worker, dir, id, String(ROUNDS)],
    { timeout: 120_000 },
  );
  return JSON.parse(stdout) as Report;
}

describe('one file:// directory written and read by 4 processes at once', () => {
  it('loses no write, never reads a torn file, and leaves no temp file behind', async () => {
    const dir = join(tempDir(), 'fixtures');
    const reports = await Promise.all(['a', 'b', 'c', 'd'].map((id) => spawnWorker(dir, id)));
    // A torn read would be a CORRUPT_ENTRY error event; a wrong value, a `wrong` count.
    expect(reports.map((report) => ({ errors: report.errors, wrong: report.wrong }))).toEqual(
      reports.map(() => ({ errors: [], wrong: 0 })),
    );
    // Reads did race the writes (a shared key was found at least once per process).
    for (const report of reports) expect(report.seen).toBeGreaterThan(0);

    const cache = createCache({ store: `file://${dir}`, namespace: 'shared', persistStats: false });
    try {
      const request = (name: string) => ({ kind: 'chat', provider: 'p', model: 'm', input: name });
      let own = 0;
      for (const id of ['a', 'b', 'c', 'd']) {
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < SHARED; i++) {
            const value = await cache.get<{ id: string; round: number; i: number }>(request(`own ${id} ${round} ${i}`));
            if (value?.id === id && value.round === round && value.i === i) own++;
          }
        }
      }
      expect(own).toBe(4 * ROUNDS * SHARED);
      for (let i = 0; i < SHARED; i++) {
        const value = await cache.get<{ i: number; by: string }>(request(`shared ${i}`));
        expect(value?.i).toBe(i);
        expect(['a', 'b', 'c', 'd']).toContain(value?.by);
      }
      const entries = [];
      for await (const entry of cache.entries()) entries.push(entry);
      expect(entries).toHaveLength(4 * ROUNDS * SHARED + SHARED);
    } finally {
      await cache.close();
    }
    const files = readdirSync(dir, { recursive: true }) as string[];
    expect(files.filter((name) => name.endsWith('.tmp'))).toEqual([]);
  }, 180_000);
});
