import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileStore, MemoryStore, RedisStore, ResponseCache, SqliteStore } from '../../src/index.js';

type RedisCommands = {
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  type(key: string): Promise<string>;
  get(key: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  sendCommand(args: string[]): Promise<unknown>;
};

/**
 * Everything the store holds, read around llmemo (its LRU, every SQLite table, every Redis key with DUMP and a raw
 * read), as one string to search. Only for tests that prove something is (not) stored.
 */
export async function rawDump(cache: ResponseCache): Promise<string> {
  const store = cache.store;
  if (store.type === 'memory') {
    const lru = (store as MemoryStore).adapter.lru;
    return [...lru.entries()].map(([key, data]) => `${key}\t${JSON.stringify(data)}`).join('\n');
  }
  if (store.type === 'sqlite') {
    const sqlite = store as SqliteStore;
    const tables = await sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table'");
    const lines: string[] = [];
    for (const { name } of tables) {
      for (const row of await sqlite.query(`SELECT * FROM ${name as string}`)) lines.push(JSON.stringify(row));
    }
    return lines.join('\n');
  }
  if (store.type === 'file') {
    const dir = (store as FileStore).dir;
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    return files
      .map((file) => `${join(file.parentPath, file.name)}\t${readFileSync(join(file.parentPath, file.name), 'utf8')}`)
      .join('\n');
  }
  const client = (store as RedisStore).client as unknown as RedisCommands;
  const lines: string[] = [];
  for await (const keys of client.scanIterator({ MATCH: '*', COUNT: 1000 })) {
    for (const key of keys) {
      const type = await client.type(key);
      const value = type === 'hash' ? JSON.stringify(await client.hGetAll(key)) : await client.get(key);
      const dump = await client.sendCommand(['DUMP', key]);
      lines.push(`${key}\t${value}\t${String(dump)}`);
    }
  }
  return lines.join('\n');
}

/** The SQLite database file and its write-ahead log, as latin1 text (so any ASCII substring can be found). */
export function sqliteFileText(path: string): string {
  let text = readFileSync(path).toString('latin1');
  try {
    text += readFileSync(`${path}-wal`).toString('latin1');
  } catch {
    // No WAL file: everything is in the database file.
  }
  return text;
}
