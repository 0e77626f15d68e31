import type { SqliteQuery } from './sqlite-schema.js';
import { BATCH_SIZE } from './store.js';

/** What the recency tracker needs of its SQLite store. */
export interface SqliteTables {
  readonly query: SqliteQuery;
  readonly table: string;
  /** The side table `<table>_meta(key, atime, bytes, expires)`. */
  readonly meta: string;
  readonly maxEntries: number | undefined;
  readonly maxBytes: number | undefined;
  readonly bounded: boolean;
  ready(): Promise<void>;
}

/**
 * LRU bounds of a SQLite store: hits mark keys and one batched UPDATE per interval records their access times;
 * writes schedule a bounds check, which evicts the least recently used rows past maxEntries/maxBytes.
 */
export class SqliteRecency {
  private touched = new Set<string>();
  private touchTimer: ReturnType<typeof setTimeout> | undefined;
  private boundsTimer: ReturnType<typeof setTimeout> | undefined;
  private enforcing: Promise<number> | undefined;
  private closed = false;

  constructor(
    private readonly db: SqliteTables,
    private readonly touchIntervalMs: number,
    private readonly onEvict: ((count: number) => void) | undefined,
  ) {}

  /**
   * Records a hit for LRU eviction. Hits only mark the key; one UPDATE per `touchIntervalMs` writes them all, so a
   * hot key costs one small write per interval at most and the hit itself never waits for a write.
   */
  touch(key: string): void {
    this.touched.add(key);
    if (this.touchTimer === undefined && !this.closed) {
      this.touchTimer = setTimeout(() => {
        this.touchTimer = undefined;
        this.flushTouches().catch(() => {});
      }, this.touchIntervalMs);
      this.touchTimer.unref?.();
    }
  }

  async flushTouches(): Promise<void> {
    if (this.touched.size === 0) return;
    await this.db.ready();
    const keys = [...this.touched];
    this.touched = new Set();
    const now = Date.now();
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      await this.db.query(
        `UPDATE ${this.db.meta} SET atime = ? WHERE key IN (SELECT value FROM json_each(?))`,
        now,
        JSON.stringify(keys.slice(start, start + BATCH_SIZE)),
      );
    }
  }

  /** Checks the bounds at most once a second after writes, off the write path. */
  scheduleBounds(): void {
    if (this.boundsTimer !== undefined || this.closed) return;
    this.boundsTimer = setTimeout(() => {
      this.boundsTimer = undefined;
      this.enforce().catch(() => {});
    }, 1000);
    this.boundsTimer.unref?.();
  }

  /** Evicts least recently used entries until the table is within maxEntries and maxBytes. Resolves how many. */
  enforce(): Promise<number> {
    if (!this.db.bounded) return Promise.resolve(0);
    this.enforcing ??= this.evict().finally(() => {
      this.enforcing = undefined;
    });
    return this.enforcing;
  }

  private async evict(): Promise<number> {
    const { query, table, meta, maxEntries, maxBytes } = this.db;
    await this.db.ready();
    await this.flushTouches();
    const [totals] = await query(`SELECT count(*) AS n, total(bytes) AS b FROM ${meta}`);
    let evicted = 0;
    const entries = Number(totals?.n ?? 0);
    if (maxEntries !== undefined && entries > maxEntries) {
      const rows = await query(
        `DELETE FROM ${table} WHERE key IN (SELECT key FROM ${meta} ORDER BY atime, key LIMIT ?) RETURNING 1`,
        entries - maxEntries,
      );
      evicted += rows.length;
    }
    if (maxBytes !== undefined && Number(totals?.b ?? 0) > maxBytes) {
      // Keep the most recently used entries whose running total fits; delete the rest.
      const rows = await query(
        `DELETE FROM ${table} WHERE key IN (SELECT key FROM (SELECT key, sum(bytes) OVER (ORDER BY atime DESC, key DESC ROWS UNBOUNDED PRECEDING) AS kept FROM ${meta}) WHERE kept > ?) RETURNING 1`,
        maxBytes,
      );
      evicted += rows.length;
    }
    if (evicted > 0) this.onEvict?.(evicted);
    return evicted;
  }

  /** No more timers; records pending touches and waits for a running eviction. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.touchTimer);
    clearTimeout(this.boundsTimer);
    await this.flushTouches().catch(() => {});
    await this.enforcing?.catch(() => {});
  }
}
