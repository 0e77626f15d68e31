import { type HitRow, mergeHits } from '../hits.js';
import { SharedJsonFile } from './file-shared.js';

export type { HitRow } from '../hits.js';

/** `+stats/hits.json`: `{ [key]: [hits, lastHitAt] }`, changed under a lock by each stats flush. */
export class FileHits {
  private readonly file: SharedJsonFile<Record<string, [number, number]>>;

  constructor(dir: string) {
    this.file = new SharedJsonFile(dir, 'hits.json', () => ({}));
  }

  async add(rows: readonly HitRow[]): Promise<void> {
    await this.file.update((data) => {
      const merged = new Map<string, HitRow>();
      for (const row of rows) {
        const known = Object.hasOwn(data, row.key) ? data[row.key] : undefined;
        if (known) merged.set(row.key, { key: row.key, hits: known[0], lastHitAt: known[1] });
      }
      mergeHits(merged, rows);
      for (const row of merged.values()) data[row.key] = [row.hits, row.lastHitAt];
    });
  }

  async read(keys: readonly string[]): Promise<Map<string, HitRow>> {
    const data = await this.file.read();
    const found = new Map<string, HitRow>();
    for (const key of keys) {
      const row = Object.hasOwn(data, key) ? data[key] : undefined;
      if (Array.isArray(row)) found.set(key, { key, hits: Number(row[0]) || 0, lastHitAt: Number(row[1]) || 0 });
    }
    return found;
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.file.update((data) => {
      for (const key of Object.keys(data)) if (key.startsWith(prefix)) delete data[key];
    });
  }
}
