import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KeyvSqlite } from '@keyv/sqlite';
import type { HitRow } from '../hits.js';
import { hitPrefix } from '../hits.js';
import type { SeriesResolution, SeriesRow } from '../series.js';
import { rawKeyv } from './raw-keyv.js';
import { SqliteRecency } from './sqlite-bounds.js';
import { SqliteCounters } from './sqlite-counters.js';
import { SqliteHits } from './sqlite-hits.js';
import { type SqliteQuery, schemaStatements, sqlitePath } from './sqlite-schema.js';
import { BATCH_SIZE, type CounterRow, KeyvStore, parseWrapper, prefixEnd, type ScannedEntry } from './store.js';

export { type SqliteQuery, sqlitePath } from './sqlite-schema.js';

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  table?: string;
  /** Most entries kept: the least recently used are evicted. Default unbounded. */
  maxEntries?: number;
  /** Most bytes of stored values kept: the least recently used are evicted. Default unbounded. */
  maxBytes?: number;
  /** How often the access times of hits are written, in one batched statement. Default 1000 ms. */
  touchIntervalMs?: number;
  /** Called with the number of entries evicted to stay within the bounds. */
  onEvict?: (count: number) => void;
}

/**
 * The @keyv/sqlite adapter, plus what Keyv leaves out:
 * - WAL and a busy timeout, so several processes can share one file; `secure_delete` so a purge leaves no
 *   readable remains in the file's free pages.
 * - A side table `<table>_meta(key, atime, bytes, expires)` kept by triggers, so pruning expired rows and evicting
 *   least-recently-used ones are index lookups instead of JSON scans of every value. Triggers (not our own
 *   upserts) keep it right whoever writes: Keyv, an older llmemo, another process. The side table is separate so
 *   that recording a hit rewrites a ~100-byte row, not the whole stored value.
 * - Prefix scans and deletes on key ranges (`key >= ? AND key < ?`), never LIKE, whose `_` and `%` are wildcards.
 * - Shared counters in `<table>_stats`, and their minute and hour buckets in `<table>_series`, incremented with
 *   one upsert each per flush (sqlite-counters.ts).
 */
export class SqliteStore extends KeyvStore {
  override readonly sharedCounters = true;
  override readonly deleteWhileScanning = true;
  readonly path: string;
  readonly table: string;
  readonly query: SqliteQuery;
  readonly maxEntries: number | undefined;
  readonly maxBytes: number | undefined;
  private readonly adapter: KeyvSqlite;
  readonly meta: string;
  private readonly counters: SqliteCounters;
  private readonly hits: SqliteHits;
  private readonly recency: SqliteRecency;
  private setupPromise: Promise<void> | undefined;

  constructor(url: string, options: SqliteStoreOptions = {}) {
    const path = sqlitePath(url);
    if (path !== ':memory:') {
      try {
        mkdirSync(dirname(resolve(path)), { recursive: true });
      } catch {
        // Fail open: opening the file will fail too, and every operation reports it as an `error` event.
      }
    }
    const adapter = new KeyvSqlite({
      uri: `sqlite://${path}`,
      busyTimeout: options.busyTimeoutMs ?? 5000,
      table: options.table ?? 'llmemo',
      // Keys are ~150 characters; the default VARCHAR(255) is advisory in SQLite but keep headroom for long labels.
      keySize: 1024,
    });
    const keyv = rawKeyv(adapter, { json: true });
    adapter.on('error', () => {});
    super('sqlite', keyv);
    this.adapter = adapter;
    this.path = path;
    this.table = adapter.opts.table as string;
    this.meta = `${this.table}_meta`;
    this.query = adapter.query as unknown as SqliteQuery;
    this.counters = new SqliteCounters(this.query, this.table);
    this.hits = new SqliteHits(this.query, this.table);
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
    this.recency = new SqliteRecency(this, options.touchIntervalMs ?? 1000, options.onEvict);
    // Start the connection and schema now so the first lookup does not pay for them; failures surface on use.
    this.ready().catch(() => {});
  }

  get bounded(): boolean {
    return this.maxEntries !== undefined || this.maxBytes !== undefined;
  }

  override ready(): Promise<void> {
    this.setupPromise ??= this.setup().catch((error: unknown) => {
      // A transient failure (a lock held too long) must not disable the store for good: retry on next use.
      this.setupPromise = undefined;
      throw error;
    });
    return this.setupPromise;
  }

  private async setup(): Promise<void> {
    const { query } = this;
    // WAL lets readers proceed while another process writes; NORMAL sync is safe with WAL and much faster.
    if (this.path !== ':memory:') await query('PRAGMA journal_mode=WAL');
    await query('PRAGMA synchronous=NORMAL');
    await query('PRAGMA secure_delete=ON');
    const present = await query(
      'SELECT name FROM sqlite_master WHERE name IN (?, ?, ?)',
      `${this.meta}_delete`,
      this.counters.stats,
      this.counters.series,
    );
    if (present.length === 3 && (await this.counters.missingColumns(query)).length === 0) return;
    // Schema changes wait for the write lock, which other processes' writes hold in turn: run them on a connection
    // of their own, so this one keeps serving lookups meanwhile.
    const ddl =
      this.path === ':memory:'
        ? { query, close: async () => {} }
        : await (
            this.adapter.opts as unknown as { connect(): Promise<{ query: SqliteQuery; close(): Promise<void> }> }
          ).connect();
    try {
      for (const statement of [...schemaStatements(this.table), ...this.counters.schema()]) {
        await ddl.query(statement);
      }
      await this.counters.migrate(ddl.query);
    } finally {
      await ddl.close();
    }
  }

  // Lookups and writes do not wait for the schema: the triggers (or the backfill) account for every row.

  override async get(key: string): Promise<string | undefined> {
    const value = await super.get(key);
    if (value !== undefined && this.bounded) this.recency.touch(key);
    return value;
  }

  override async set(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    await super.set(key, value, ttlMs);
    if (this.bounded) this.recency.scheduleBounds();
  }

  override async close(): Promise<void> {
    await this.recency.close();
    await this.setupPromise?.catch(() => {});
    await (this.adapter as unknown as { close(): Promise<void> }).close();
  }

  // ---------------------------------------------------------------- recency and bounds (see sqlite-bounds.ts)

  /** Writes the access times of recent hits now (they are batched on a timer otherwise). */
  flushTouches(): Promise<void> {
    return this.recency.flushTouches();
  }

  /** Evicts least recently used entries until the table is within maxEntries and maxBytes. Resolves how many. */
  enforceBounds(): Promise<number> {
    return this.recency.enforce();
  }

  // ---------------------------------------------------------------- maintenance

  override async peek(key: string): Promise<ScannedEntry | undefined> {
    await this.ready();
    const [row] = await this.query(`SELECT value FROM ${this.table} WHERE key = ?`, key);
    const wrapped = parseWrapper(row?.value);
    return wrapped ? { key, ...wrapped } : undefined;
  }

  // Each page starts where the last one ended (`key > last`) as the index range itself: a third condition next to
  // `key >= prefix` would be a filter, and every page would walk the index from the prefix again (quadratic).
  override async *scan(prefix: string): AsyncIterable<ScannedEntry[]> {
    await this.ready();
    let after: string | undefined;
    for (;;) {
      const rows = await this.query(
        `SELECT key, value FROM ${this.table} WHERE ${after === undefined ? 'key >= ?' : 'key > ?'} AND key < ? ORDER BY key LIMIT ?`,
        after ?? prefix,
        prefixEnd(prefix),
        BATCH_SIZE,
      );
      if (rows.length === 0) return;
      const batch: ScannedEntry[] = [];
      for (const row of rows) {
        const wrapped = parseWrapper(row.value);
        if (wrapped) batch.push({ key: row.key as string, ...wrapped });
      }
      after = rows[rows.length - 1]!.key as string;
      if (batch.length > 0) yield batch;
      if (rows.length < BATCH_SIZE) return;
    }
  }

  override async *scanKeys(prefix: string): AsyncIterable<string[]> {
    await this.ready();
    let after: string | undefined;
    for (;;) {
      const rows = await this.query(
        `SELECT key FROM ${this.table} WHERE ${after === undefined ? 'key >= ?' : 'key > ?'} AND key < ? ORDER BY key LIMIT ?`,
        after ?? prefix,
        prefixEnd(prefix),
        BATCH_SIZE,
      );
      if (rows.length === 0) return;
      const keys = rows.map((row) => row.key as string);
      after = keys[keys.length - 1]!;
      yield keys;
      if (rows.length < BATCH_SIZE) return;
    }
  }

  override async deleteKeys(keys: readonly string[]): Promise<number> {
    await this.ready();
    let deleted = 0;
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      const rows = await this.query(
        `DELETE FROM ${this.table} WHERE key IN (SELECT value FROM json_each(?)) RETURNING 1`,
        JSON.stringify(keys.slice(start, start + BATCH_SIZE)),
      );
      deleted += rows.length;
    }
    return deleted;
  }

  override async deletePrefix(prefix: string): Promise<number> {
    await this.ready();
    let deleted = 0;
    // In batches, so other processes' writes get the lock in between on a large purge.
    for (;;) {
      const rows = await this.query(
        `DELETE FROM ${this.table} WHERE key IN (SELECT key FROM ${this.table} WHERE key >= ? AND key < ? LIMIT ?) RETURNING 1`,
        prefix,
        prefixEnd(prefix),
        BATCH_SIZE,
      );
      deleted += rows.length;
      if (rows.length < BATCH_SIZE) return deleted;
    }
  }

  override async prune(now = Date.now()): Promise<number> {
    await this.ready();
    let deleted = 0;
    for (;;) {
      const rows = await this.query(
        `DELETE FROM ${this.table} WHERE key IN (SELECT key FROM ${this.meta} WHERE expires IS NOT NULL AND expires <= ? LIMIT ?) RETURNING 1`,
        now,
        BATCH_SIZE,
      );
      deleted += rows.length;
      if (rows.length < BATCH_SIZE) break;
    }
    await this.enforceBounds();
    return deleted;
  }

  override async count(prefix: string): Promise<number> {
    await this.ready();
    const [row] = await this.query(
      `SELECT count(*) AS n FROM ${this.table} WHERE key >= ? AND key < ?`,
      prefix,
      prefixEnd(prefix),
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Moves everything from the write-ahead log into the database file and truncates the log, so deleted entries
   * (overwritten in place by secure_delete) do not survive in old WAL frames. Best effort: readers in other
   * processes can keep frames alive until they finish.
   */
  async checkpoint(): Promise<void> {
    await this.ready();
    if (this.path !== ':memory:') await this.query('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  /** Total entries and stored bytes (from the side table: no value is read). */
  async size(): Promise<{ entries: number; bytes: number }> {
    await this.ready();
    const [row] = await this.query(`SELECT count(*) AS n, total(bytes) AS b FROM ${this.meta}`);
    return { entries: Number(row?.n ?? 0), bytes: Number(row?.b ?? 0) };
  }

  // ---------------------------------------------------------------- shared counters (sqlite-counters.ts)

  override async addCounters(rows: readonly CounterRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.ready();
    await this.counters.add(rows);
  }

  override async readCounters(namespace?: string): Promise<CounterRow[]> {
    await this.ready();
    return this.counters.read(namespace);
  }

  override async readSeries(
    resolution: SeriesResolution,
    from: number,
    to: number,
    namespace?: string,
  ): Promise<SeriesRow[]> {
    await this.ready();
    return this.counters.readSeries(resolution, from, to, namespace);
  }

  override async deleteCounters(namespace?: string): Promise<void> {
    await this.ready();
    await this.counters.delete(namespace);
    await this.hits.deletePrefix(hitPrefix(namespace));
  }

  // ---------------------------------------------------------------- per-entry hits (sqlite-hits.ts)

  override async addHits(rows: readonly HitRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.ready();
    await this.hits.add(rows);
  }

  override async readHits(keys: readonly string[]): Promise<Map<string, HitRow>> {
    await this.ready();
    return this.hits.read(keys);
  }
}
