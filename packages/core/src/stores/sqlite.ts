import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { KeyvStore } from './store.js';

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  table?: string;
}

/** `sqlite://relative/path`, `sqlite:///absolute/path` or `sqlite://:memory:` → the file path. */
export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:\/\//, '');
  const path = decodeURIComponent(rest.split('?')[0] ?? '');
  return path === ':memory:' || path === '' ? ':memory:' : path;
}

export type SqliteQuery = (sql: string, ...params: unknown[]) => Promise<Record<string, unknown>[]>;

/** The @keyv/sqlite adapter, plus what Keyv leaves out: WAL and a busy timeout so several processes can share one file. */
export class SqliteStore extends KeyvStore {
  readonly path: string;
  readonly table: string;
  readonly query: SqliteQuery;

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
    const keyv = new Keyv({
      store: adapter,
      namespace: undefined,
      useKeyPrefix: false,
      // Our values are already strings; plain JSON keeps Keyv's { value, expires } wrapper readable by json_extract.
      serialize: JSON.stringify,
      deserialize: JSON.parse,
      throwOnErrors: true,
    });
    keyv.on('error', () => {});
    adapter.on('error', () => {});
    const query = adapter.query as unknown as SqliteQuery;
    let pragmas: Promise<void> | undefined;
    const ready = () => {
      pragmas ??= (async () => {
        // WAL lets readers proceed while another process writes; NORMAL sync is safe with WAL and much faster.
        if (path !== ':memory:') await query('PRAGMA journal_mode=WAL');
        await query('PRAGMA synchronous=NORMAL');
      })();
      return pragmas;
    };
    super('sqlite', keyv, ready, async () => {
      await pragmas?.catch(() => {});
      await (adapter as unknown as { close(): Promise<void> }).close();
    });
    this.path = path;
    this.table = adapter.opts.table as string;
    this.query = query;
    // Start the connection and pragmas now so the first lookup does not pay for them; failures surface on use.
    ready().catch(() => {});
  }
}
