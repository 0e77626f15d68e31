import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { STORE_KINDS, storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CacheRequest,
  createCache,
  type ErrorEvent,
  type FileStore,
  type MemoryStore,
  type RedisStore,
  type ResponseCache,
  type SqliteStore,
} from '../src/index.js';
import { encodeEntryFile } from '../src/stores/file-adapter.js';

/**
 * Bad data placed under our keys AROUND llmemo (raw Redis SET, raw SQLite rows, raw LRU entries): random bytes,
 * truncated and mangled envelopes, wrong versions, other requests' entries, huge values. Every read must be a
 * miss (never a crash, never a wrong answer), reported as an event, and must not trip the store's breaker.
 */

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

/** A small deterministic PRNG, so a failure replays. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

async function rawSet(cache: ResponseCache, key: string, text: string): Promise<void> {
  const store = cache.store;
  if (store.type === 'memory') {
    (store as MemoryStore).adapter.lru.set(key, { value: text });
  } else if (store.type === 'sqlite') {
    const sqlite = store as SqliteStore;
    await sqlite.query(`INSERT OR REPLACE INTO ${sqlite.table} (key, value) VALUES (?, ?)`, key, text);
  } else if (store.type === 'file') {
    // Half the time the garbage is the entry's text in a well-formed file, half the time the whole file.
    const path = (store as FileStore).adapter.pathOf(key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text.length % 2 === 0 ? encodeEntryFile(key, { value: text }) : text);
  } else {
    await ((store as RedisStore).client as unknown as { set(k: string, v: string): Promise<unknown> }).set(key, text);
  }
}

function garbage(random: () => number, valid: string, other: string): string {
  const pick = Math.floor(random() * 9);
  switch (pick) {
    case 0:
      return randomBytes(1 + Math.floor(random() * 200)).toString('latin1');
    case 1:
      return valid.slice(0, Math.floor(random() * valid.length));
    case 2: {
      // Flip one character of a valid stored value.
      const at = Math.floor(random() * valid.length);
      return `${valid.slice(0, at)}${String.fromCharCode(valid.charCodeAt(at) ^ 0x15)}${valid.slice(at + 1)}`;
    }
    case 3:
      return valid.replace('"v":1', '"v":7');
    case 4:
      return other;
    case 5:
      return JSON.stringify({ value: 42 });
    case 6:
      return JSON.stringify({ value: '{"v":1,"body":"no digest"}', expires: null });
    case 7:
      return 'x'.repeat(2_000_000);
    default:
      return JSON.stringify(random());
  }
}

describe.each(STORE_KINDS)('fuzzed bad data under our keys on %s', (kind) => {
  it('every bad value is a miss with an event; the right answer is always the computed one', async () => {
    const cache = createCache({ store: storeUrl(kind), namespace: uniqueNamespace('fuzz'), timeoutMs: 2000 });
    caches.push(cache);
    const events: ErrorEvent[] = [];
    cache.on('error', (event) => events.push(event));
    const request = (i: number): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: `q${i}` });

    // A real stored value (the raw text a store holds for it) to mangle, and another request's entry.
    await cache.set(request(-1), { answer: 'for -1' });
    await cache.set(request(-2), { answer: 'for -2' });
    const readRaw = async (i: number) => {
      const store = cache.store;
      if (store.type === 'memory') return (store as MemoryStore).adapter.lru.get(cache.key(request(i)))!.value;
      if (store.type === 'sqlite') {
        const sqlite = store as SqliteStore;
        const rows = await sqlite.query(`SELECT value FROM ${sqlite.table} WHERE key = ?`, cache.key(request(i)));
        return rows[0]!.value as string;
      }
      if (store.type === 'file') return (await store.peek(cache.key(request(i))))!.value;
      return (await ((store as RedisStore).client as unknown as { get(k: string): Promise<string> }).get(
        cache.key(request(i)),
      )) as string;
    };
    const valid = await readRaw(-1);
    const other = await readRaw(-2);

    const random = prng(20261126);
    const rounds = kind === 'memory' ? 300 : 120;
    let wrong = 0;
    for (let i = 0; i < rounds; i++) {
      const key = cache.key(request(i));
      await rawSet(cache, key, garbage(random, valid, other));
      const result = await cache.getOrCompute(request(i), async () => ({ answer: `for ${i}` }), { noStore: true });
      if ((result.value as { answer: string }).answer !== `for ${i}` || result.hit) wrong++;
    }
    await cache.flush();
    expect(wrong).toBe(0);
    // Bad data is a corrupt entry, never a store failure: the breaker stays closed and keeps serving hits.
    expect(cache.stats().breaker?.state).toBe('closed');
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.error.code === 'CORRUPT_ENTRY')).toBe(true);
    expect((await cache.getOrCompute(request(-1), async () => ({ answer: 'recomputed' }))).hit).toBe(true);
  });
});
