import type { HitRow } from '../hits.js';
import type { SqliteQuery } from './sqlite-schema.js';
import { prefixEnd } from './store.js';

/**
 * Per-entry hits in SQLite: `<table>_hits(key, hits, last_hit)`, one upsert per stats flush (hits add up, the
 * latest time wins), so concurrent processes count exactly. A table of its own, made on first use: a hit never
 * rewrites the entry's row, and the entry schema needs no migration.
 */
export class SqliteHits {
  readonly table: string;
  private created: Promise<void> | undefined;

  constructor(
    private readonly query: SqliteQuery,
    table: string,
  ) {
    this.table = `${table}_hits`;
  }

  private create(): Promise<void> {
    this.created ??= this.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (key TEXT PRIMARY KEY, hits INTEGER NOT NULL, last_hit INTEGER NOT NULL) WITHOUT ROWID`,
    ).then(
      () => {},
      (error: unknown) => {
        this.created = undefined;
        throw error;
      },
    );
    return this.created;
  }

  async add(rows: readonly HitRow[]): Promise<void> {
    await this.create();
    await this.query(
      `INSERT INTO ${this.table} (key, hits, last_hit) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?) WHERE true ON CONFLICT (key) DO UPDATE SET hits = hits + excluded.hits, last_hit = max(last_hit, excluded.last_hit)`,
      JSON.stringify(rows.map((row) => [row.key, row.hits, row.lastHitAt])),
    );
  }

  async read(keys: readonly string[]): Promise<Map<string, HitRow>> {
    await this.create();
    const found = new Map<string, HitRow>();
    if (keys.length === 0) return found;
    const rows = await this.query(
      `SELECT key, hits, last_hit FROM ${this.table} WHERE key IN (SELECT value FROM json_each(?))`,
      JSON.stringify(keys),
    );
    for (const row of rows) {
      found.set(row.key as string, { key: row.key as string, hits: Number(row.hits), lastHitAt: Number(row.last_hit) });
    }
    return found;
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.create();
    await this.query(`DELETE FROM ${this.table} WHERE key >= ? AND key < ?`, prefix, prefixEnd(prefix));
  }
}
