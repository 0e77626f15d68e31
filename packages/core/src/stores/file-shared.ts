import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { readIfExists, writeAtomic } from './file-io.js';
import { STATS_DIR } from './file-names.js';

/**
 * A small JSON file that several processes update (the counters, the per-entry hits): each update holds a lock
 * (proper-lockfile: a `<file>.lock` directory, made atomically, with stale-lock recovery if a holder died), reads,
 * changes and atomically replaces the file. Readers need no lock: they see one whole version or the next.
 */
export class SharedJsonFile<T> {
  readonly path: string;
  private prepared: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    name: string,
    private readonly empty: () => T,
  ) {
    this.path = join(dir, STATS_DIR, name);
  }

  /** Makes `+stats/` with a `.gitignore`, so counters never show up in a fixture directory's diff. */
  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const stats = join(this.dir, STATS_DIR);
      await mkdir(stats, { recursive: true });
      if ((await readIfExists(join(stats, '.gitignore'))) === undefined) {
        await writeAtomic(join(stats, '.gitignore'), '# llmemo counters and hit times: local, never reviewed\n*\n');
      }
    })().catch((error: unknown) => {
      this.prepared = undefined;
      throw error;
    });
    return this.prepared;
  }

  async read(): Promise<T> {
    const text = await readIfExists(this.path);
    if (text === undefined) return this.empty();
    try {
      return JSON.parse(text) as T;
    } catch {
      // Only ever replaced whole; unreadable means someone edited it. Start over rather than fail every flush.
      return this.empty();
    }
  }

  async update(change: (data: T) => void): Promise<void> {
    await this.prepare();
    const release = await lockfile.lock(this.path, {
      realpath: false,
      stale: 10_000,
      retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 100 },
    });
    try {
      const data = await this.read();
      change(data);
      await writeAtomic(this.path, JSON.stringify(data));
    } finally {
      await release();
    }
  }
}
