import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/sqlite-worker.ts', import.meta.url));

interface WorkerReport {
  events: number;
  thrown: number;
  found: number;
  messages: string[];
}

async function spawnWorker(...args: string[]): Promise<WorkerReport> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=@llmemo/source', worker, ...args], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as WorkerReport;
}

describe('SQLite shared by several processes', () => {
  it('a second process sees what the first wrote (persistence across restarts)', async () => {
    const file = join(tempDir(), 'shared.sqlite');
    const writer = await spawnWorker(file, 'write', '0', '50');
    expect(writer).toMatchObject({ events: 0, thrown: 0 });
    const reader = await spawnWorker(file, 'read', '0', '50');
    expect(reader).toMatchObject({ events: 0, thrown: 0, found: 50 });
  });

  it('two processes writing at once lose nothing and surface no SQLITE_BUSY', async () => {
    const file = join(tempDir(), 'concurrent.sqlite');
    const [a, b] = await Promise.all([
      spawnWorker(file, 'write', '0', '300'),
      spawnWorker(file, 'write', '300', '600'),
    ]);
    expect(a.thrown + b.thrown).toBe(0);
    expect({ events: a.events + b.events, messages: [...a.messages, ...b.messages] }).toEqual({
      events: 0,
      messages: [],
    });
    const cache = createCache({ store: `sqlite://${file}`, namespace: 'shared', timeoutMs: 2000 });
    let found = 0;
    for (let i = 0; i < 600; i++) {
      const value = await cache.get<{ answer: number }>({
        kind: 'chat',
        provider: 'p',
        model: 'm',
        input: `question ${i}`,
      });
      if (value?.answer === i) found++;
    }
    await cache.close();
    expect(found).toBe(600);
  });
});
