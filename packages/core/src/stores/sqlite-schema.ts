/** `sqlite://relative/path`, `sqlite:///absolute/path` or `sqlite://:memory:` → the file path. */
export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:\/\//, '');
  const path = decodeURIComponent(rest.split('?')[0] ?? '');
  return path === ':memory:' || path === '' ? ':memory:' : path;
}

export type SqliteQuery = (sql: string, ...params: unknown[]) => Promise<Record<string, unknown>[]>;

/** Epoch milliseconds, computed inside SQLite (for triggers). */
const NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

/**
 * The schema beside Keyv's `<table>`: the side table `<table>_meta(key, atime, bytes, expires)` kept by triggers
 * (so pruning and LRU eviction are index lookups, whoever writes: Keyv, an older llmemo, another process); the
 * shared counters' tables are in sqlite-counters.ts. Every statement is idempotent (processes may race here), and the backfill runs
 * after the triggers exist, so no row written meanwhile is missed.
 */
export function schemaStatements(table: string): string[] {
  const meta = `${table}_meta`;
  // An upsert, not INSERT OR REPLACE: inside a trigger, the outer statement's conflict policy overrides OR.
  const upsert = `INSERT INTO ${meta} VALUES (NEW.key, ${NOW_MS}, length(CAST(NEW.value AS BLOB)), CASE WHEN json_valid(NEW.value) THEN json_extract(NEW.value, '$.expires') END) ON CONFLICT (key) DO UPDATE SET atime = excluded.atime, bytes = excluded.bytes, expires = excluded.expires`;
  return [
    `CREATE TABLE IF NOT EXISTS ${meta} (key TEXT PRIMARY KEY, atime INTEGER NOT NULL, bytes INTEGER NOT NULL, expires INTEGER) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${meta}_atime ON ${meta} (atime)`,
    `CREATE INDEX IF NOT EXISTS ${meta}_expires ON ${meta} (expires) WHERE expires IS NOT NULL`,
    `CREATE TRIGGER IF NOT EXISTS ${meta}_insert AFTER INSERT ON ${table} BEGIN ${upsert}; END`,
    `CREATE TRIGGER IF NOT EXISTS ${meta}_update AFTER UPDATE OF value ON ${table} BEGIN ${upsert}; END`,
    `CREATE TRIGGER IF NOT EXISTS ${meta}_delete AFTER DELETE ON ${table} BEGIN DELETE FROM ${meta} WHERE key = OLD.key; END`,
    // Rows written before the triggers existed: least recently used (atime 0) until they are read.
    `INSERT OR IGNORE INTO ${meta} SELECT key, 0, length(CAST(value AS BLOB)), CASE WHEN json_valid(value) THEN json_extract(value, '$.expires') END FROM ${table}`,
  ];
}
