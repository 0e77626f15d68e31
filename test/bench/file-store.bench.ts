// `pnpm bench file`: the file:// store (one JSON file per entry, for reviewable fixtures) against SQLite, the
// other local store: the latency of a hit, and the disk the same 1,000 entries take.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CacheRequest, createCache, type SqliteStore } from '@llmemo/core';
import { chatRequest } from './fixtures.js';
import { measure, type Row, type Suite, table } from './harness.js';

const ANSWER = { content: [{ type: 'text', text: 'The weather in Paris is mild. '.repeat(20) }], finishReason: 'stop' };

async function hit(dir: string): Promise<string> {
  const request = chatRequest(2_000);
  const compute = () => {
    throw new Error('a hit must not compute');
  };
  const file = createCache({ store: `file://${join(dir, 'hit-files')}`, timeoutMs: 5000 });
  const sqlite = createCache({ store: `sqlite://${join(dir, 'hit.sqlite')}`, timeoutMs: 5000 });
  try {
    await file.set(request, ANSWER);
    await sqlite.set(request, ANSWER);
    const results = await measure({
      file: () => file.getOrCompute(request, compute),
      sqlite: () => sqlite.getOrCompute(request, compute),
    });
    const rows: Row[] = [
      { scenario: 'hit on file:// vs on sqlite:// (2 KB request)', measured: results.file!, baseline: results.sqlite! },
    ];
    return table('File store hit: getOrCompute on a file:// hit vs the same on SQLite', rows);
  } finally {
    await file.close();
    await sqlite.close();
  }
}

/** Apparent size (bytes in the files) and allocated size (blocks on disk) of every file under `path`. */
function sizes(paths: string[]): { apparent: number; allocated: number; files: number } {
  let apparent = 0;
  let allocated = 0;
  for (const path of paths) {
    const info = statSync(path);
    apparent += info.size;
    allocated += info.blocks * 512;
  }
  return { apparent, allocated, files: paths.length };
}

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

async function diskSize(dir: string): Promise<string> {
  const files = join(dir, 'size-files');
  const database = join(dir, 'size.sqlite');
  const file = createCache({ store: `file://${files}`, timeoutMs: 5000, ttl: null });
  const sqlite = createCache({ store: `sqlite://${database}`, timeoutMs: 5000, ttl: null });
  try {
    for (let i = 0; i < 1000; i++) {
      const request: CacheRequest = { ...chatRequest(2_000), input: [{ role: 'user', content: `question ${i}` }] };
      await file.set(request, ANSWER);
      await sqlite.set(request, ANSWER);
    }
    await (sqlite.store as SqliteStore).checkpoint();
  } finally {
    await file.close();
    await sqlite.close();
  }
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const ours = sizes(filesUnder(files));
  const theirs = sizes(filesUnder(dir).filter((path) => path.startsWith(database)));
  return [
    '### File store size: the same 1,000 entries (2 KB requests, 600 B answers) as files vs one SQLite file',
    '',
    '| store | files | apparent size | allocated on disk | allocated ratio |',
    '|---|---|---|---|---|',
    `| file:// | ${ours.files} | ${kib(ours.apparent)} | ${kib(ours.allocated)} | ${(ours.allocated / theirs.allocated).toFixed(2)}× |`,
    `| sqlite:// (after a WAL checkpoint) | ${theirs.files} | ${kib(theirs.apparent)} | ${kib(theirs.allocated)} | 1.00× |`,
    '',
  ].join('\n');
}

export const suite: Suite = {
  name: 'file',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'llmemo-bench-file-'));
    try {
      return `${await hit(dir)}\n${await diskSize(dir)}`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
