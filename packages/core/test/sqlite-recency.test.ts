import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/stores/sqlite.js';
import { schemaStatements, sqlitePath } from '../src/stores/sqlite-schema.js';

describe('SQLite schema and recency', () => {
  it('reads paths out of sqlite:// URLs', () => {
    expect(sqlitePath('sqlite://data/cache.db?x=1')).toBe('data/cache.db');
    expect(sqlitePath('sqlite:///tmp/a%20b.db')).toBe('/tmp/a b.db');
    expect(sqlitePath('sqlite://:memory:')).toBe(':memory:');
  });

  it('schema statements are idempotent: a second run (another process racing) changes nothing', async () => {
    const store = new SqliteStore('sqlite://:memory:');
    await store.ready();
    await store.set('k', 'v', undefined);
    for (const statement of schemaStatements(store.table)) await store.query(statement);
    expect(await store.size()).toMatchObject({ entries: 1 });
    await store.close();
  });

  it('evicts the least recently read entry first once touches are recorded', async () => {
    const store = new SqliteStore('sqlite://:memory:', { maxEntries: 2, touchIntervalMs: 60_000 });
    await store.ready();
    await store.set('a', 'v', undefined);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.set('b', 'v', undefined);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await store.get('a')).toBe('v');
    await store.set('c', 'v', undefined);
    expect(await store.enforceBounds()).toBe(1);
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBe('v');
    await store.close();
  });
});
