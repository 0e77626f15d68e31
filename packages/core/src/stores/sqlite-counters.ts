import { COUNTER_FIELDS, type CounterRow } from '../counters.js';
import { SERIES_RETENTION_MS, type SeriesResolution, type SeriesRow, splitDeltas } from '../series.js';
import type { SqliteQuery } from './sqlite.js';

/**
 * The SQLite store's shared counters: totals per namespace and model in `<table>_stats`, minute and hour buckets
 * in `<table>_series`. A flush is one upsert into each (`value = value + delta`), so concurrent processes add up
 * exactly; old buckets are dropped by an index range delete.
 */
export class SqliteCounters {
  readonly stats: string;
  readonly series: string;
  private prunedAt = 0;

  constructor(
    private readonly query: SqliteQuery,
    table: string,
  ) {
    this.stats = `${table}_stats`;
    this.series = `${table}_series`;
  }

  schema(): string[] {
    const counters = COUNTER_FIELDS.map((f) => `${f} INTEGER NOT NULL DEFAULT 0`).join(', ');
    return [
      `CREATE TABLE IF NOT EXISTS ${this.stats} (ns TEXT NOT NULL, model TEXT NOT NULL, ${counters}, PRIMARY KEY (ns, model)) WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS ${this.series} (res TEXT NOT NULL, at INTEGER NOT NULL, ns TEXT NOT NULL, model TEXT NOT NULL, ${counters}, PRIMARY KEY (res, at, ns, model)) WITHOUT ROWID`,
    ];
  }

  /** Counter columns a table made by an older llmemo lacks. */
  async missingColumns(query: SqliteQuery): Promise<string[]> {
    const columns = await query(`SELECT name FROM pragma_table_info('${this.stats}')`);
    if (columns.length === 0) return [];
    const have = new Set(columns.map((row) => row.name as string));
    return COUNTER_FIELDS.filter((field) => !have.has(field));
  }

  /** Adds the columns of counters added since the table was made. Another process may add one first: fine. */
  async migrate(query: SqliteQuery): Promise<void> {
    for (const column of await this.missingColumns(query)) {
      await query(`ALTER TABLE ${this.stats} ADD COLUMN ${column} INTEGER NOT NULL DEFAULT 0`).catch(
        (error: unknown) => {
          if (!/duplicate column/i.test(String((error as Error)?.message))) throw error;
        },
      );
    }
  }

  async add(rows: readonly CounterRow[]): Promise<void> {
    const { totals, buckets } = splitDeltas(rows);
    const columns = COUNTER_FIELDS.join(', ');
    const values = (from: number) => COUNTER_FIELDS.map((_, i) => `json_extract(value, '$[${i + from}]')`).join(', ');
    const updates = COUNTER_FIELDS.map((f) => `${f} = ${f} + excluded.${f}`).join(', ');
    const fields = (row: CounterRow) => COUNTER_FIELDS.map((f) => row[f]);
    await this.query(
      // `WHERE true` resolves SQLite's parsing ambiguity between a join's ON and the upsert's ON CONFLICT.
      `INSERT INTO ${this.stats} (ns, model, ${columns}) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ${values(2)} FROM json_each(?) WHERE true ON CONFLICT (ns, model) DO UPDATE SET ${updates}`,
      JSON.stringify(totals.map((row) => [row.namespace, row.model, ...fields(row)])),
    );
    const bucketRows = (['minute', 'hour'] as const).flatMap((res) =>
      buckets[res].map((row) => [res, row.at, row.namespace, row.model, ...fields(row)]),
    );
    if (bucketRows.length === 0) return;
    await this.query(
      `INSERT INTO ${this.series} (res, at, ns, model, ${columns}) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), ${values(4)} FROM json_each(?) WHERE true ON CONFLICT (res, at, ns, model) DO UPDATE SET ${updates}`,
      JSON.stringify(bucketRows),
    );
    await this.prune();
  }

  /** Drops buckets past their retention, at most once a minute per process. */
  private async prune(now = Date.now()): Promise<void> {
    if (now - this.prunedAt < 60_000) return;
    this.prunedAt = now;
    await this.query(
      `DELETE FROM ${this.series} WHERE (res = 'minute' AND at < ?) OR (res = 'hour' AND at < ?)`,
      now - SERIES_RETENTION_MS.minute,
      now - SERIES_RETENTION_MS.hour,
    );
  }

  async read(namespace?: string): Promise<CounterRow[]> {
    const rows =
      namespace === undefined
        ? await this.query(`SELECT * FROM ${this.stats}`)
        : await this.query(`SELECT * FROM ${this.stats} WHERE ns = ?`, namespace);
    return rows.map(toCounterRow);
  }

  async readSeries(resolution: SeriesResolution, from: number, to: number, namespace?: string): Promise<SeriesRow[]> {
    const filter = namespace === undefined ? [] : [namespace];
    const rows = await this.query(
      `SELECT * FROM ${this.series} WHERE res = ? AND at >= ? AND at < ?${namespace === undefined ? '' : ' AND ns = ?'}`,
      resolution,
      from,
      to,
      ...filter,
    );
    return rows.map((row) => ({ ...toCounterRow(row), at: Number(row.at) }));
  }

  async delete(namespace?: string): Promise<void> {
    for (const table of [this.stats, this.series]) {
      if (namespace === undefined) await this.query(`DELETE FROM ${table}`);
      else await this.query(`DELETE FROM ${table} WHERE ns = ?`, namespace);
    }
  }
}

function toCounterRow(row: Record<string, unknown>): CounterRow {
  const counters = { namespace: row.ns as string, model: row.model as string } as CounterRow;
  for (const field of COUNTER_FIELDS) counters[field] = Number(row[field] ?? 0);
  return counters;
}
