import { join } from 'node:path';
import { createCache, type EntryInfo } from '@llmemo/core';
import { tempDir } from '@llmemo/test-support';
import { beforeAll, describe, expect, it } from 'vitest';
import { TopN } from '../src/top.js';
import { llmemo, oneLine, req, requireBuiltCli } from './helpers.js';

requireBuiltCli();

const ENTRIES = 40;

/**
 * 40 entries written a few ms apart, with sizes that do not follow their age. The store scans in key order, which
 * is the order of the digests: unrelated to when an entry was written, so "the first 5 scanned" are not the newest.
 */
async function seedMany(store: string): Promise<void> {
  const cache = createCache({ store, namespace: 'many', timeoutMs: 5000, pruneInterval: false });
  for (let i = 0; i < ENTRIES; i++) {
    await cache.set(req(`question ${i}`), `answer ${i} ${'x'.repeat((i * 37) % 400)}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  await cache.close();
}

const listJson = async (store: string, ...args: string[]): Promise<EntryInfo[]> => {
  const result = await llmemo(['--store', store, '--json', 'ls', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
};

describe('llmemo ls --limit and --sort over the whole store', () => {
  let store: string;
  let all: EntryInfo[];
  beforeAll(async () => {
    store = `sqlite://${join(tempDir(), 'many.sqlite')}`;
    await seedMany(store);
    all = await listJson(store, '--limit', '0');
    expect(all).toHaveLength(ENTRIES);
  });
  const by = (order: (a: EntryInfo, b: EntryInfo) => number) =>
    [...all]
      .sort(order)
      .slice(0, 5)
      .map((entry) => entry.key);
  const time = (entry: EntryInfo) => new Date(entry.createdAt).getTime();

  it('--limit 5 lists the 5 newest entries of the store, newest first (not 5 from the scan, sorted)', async () => {
    const newest = by((a, b) => time(b) - time(a));
    expect((await listJson(store, '--limit', '5')).map((entry) => entry.key)).toEqual(newest);
    // The seed really does scan in another order: the first 5 the store yields are not the 5 newest.
    const scanned: string[] = [];
    const cache = createCache({ store, pruneInterval: false, persistStats: false });
    for await (const entry of cache.entries({ all: true })) if (scanned.length < 5) scanned.push(entry.key);
    await cache.close();
    expect(new Set(scanned)).not.toEqual(new Set(newest));
  });

  it('--sort oldest and --sort largest', async () => {
    const oldest = by((a, b) => time(a) - time(b));
    expect((await listJson(store, '--limit', '5', '--sort', 'oldest')).map((entry) => entry.key)).toEqual(oldest);
    const largest = await listJson(store, '--limit', '5', '--sort', 'largest');
    expect(largest.map((entry) => entry.bytes)).toEqual(
      [...all]
        .map((entry) => entry.bytes)
        .sort((a, b) => b - a)
        .slice(0, 5),
    );
  });

  it('says how many more there are, and rejects an unknown order', async () => {
    const human = await llmemo(['--store', store, 'ls', '--limit', '5']);
    expect(human.stdout.trim().split('\n')).toHaveLength(6);
    expect(human.stderr).toBe(`… and ${ENTRIES - 5} more (raise --limit, or 0 for all).\n`);
    const bad = await llmemo(['--store', store, 'ls', '--sort', 'random']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sort.*'random' is invalid.*newest, oldest, largest/);
  });
});

describe('llmemo inspect takes a key as ls shows it', () => {
  let store: string;
  beforeAll(async () => {
    store = `sqlite://${join(tempDir(), 'prefix.sqlite')}`;
    await seedMany(store);
  });

  it('the key column of ls (a short key ending in …) opens the entry', async () => {
    const listed = await llmemo(['--store', store, 'ls', '--limit', '1']);
    const shown = listed.stdout.trim().split('\n')[1]!.split(/\s+/).at(-1)!;
    expect(shown).toMatch(/^llmemo:v2:many:chat:openai\.chat:gpt-4o-mini:[0-9a-f]{12}…$/);
    const [newest] = await listJson(store, '--limit', '1');
    for (const given of [shown, shown.replace('…', '...'), shown.replace('…', ''), newest!.key]) {
      const inspected = await llmemo(['--store', store, 'inspect', given]);
      expect(inspected.code, inspected.stderr).toBe(0);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ key: newest!.key, namespace: 'many' });
    }
  });

  it('an ambiguous prefix fails and lists the candidates; an unknown one says where keys come from', async () => {
    const prefix = 'llmemo:v2:many:chat:openai.chat:gpt-4o-mini:';
    const ambiguous = await llmemo(['--store', store, 'inspect', prefix]);
    expect(ambiguous.code).toBe(1);
    const lines = ambiguous.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `llmemo: key prefix ${prefix} is ambiguous: it starts more than 10 entries; give more of the key:`,
    );
    expect(lines.slice(1, 11).every((line) => line.startsWith(`  ${prefix}`))).toBe(true);
    expect(lines[11]).toBe('  …');
    expect(ambiguous.stdout).toBe('');

    const all = await listJson(store, '--limit', '0');
    const digests = all.map((entry) => entry.digest).sort();
    // Two digests that share their first character (there are 40 of them over 16 hex digits): both are listed.
    const shared = digests.find((digest, i) => digests[i + 1]?.[0] === digest[0])!;
    const two = await llmemo(['--store', store, 'inspect', `${prefix}${shared[0]}`]);
    const sharing = digests.filter((digest) => digest[0] === shared[0]).length;
    expect(two.stderr).toContain(`it starts ${sharing} entries`);

    const unknown = await llmemo(['--store', store, 'inspect', `${prefix}zzz…`]);
    expect(unknown.code).toBe(1);
    expect(oneLine(unknown)).toMatch(/no entry with key .*zzz.*`llmemo ls`/);
    const notAKey = await llmemo(['--store', store, 'inspect', 'abc123']);
    expect(oneLine(notAKey)).toMatch(/keys start with llmemo:v2:/);
  });
});

describe('llmemo counts agree with their nouns', () => {
  it('1 hit, 1 miss, 1 entry', async () => {
    const store = `sqlite://${join(tempDir(), 'one.sqlite')}`;
    const cache = createCache({ store, namespace: 'one', timeoutMs: 5000, pruneInterval: false });
    await cache.getOrCompute(req('once'), async () => 'answer');
    await cache.getOrCompute(req('once'), async () => 'unused');
    await cache.close();
    const stats = await llmemo(['--store', store, 'stats']);
    expect(stats.stdout).toMatch(/Hit rate\s+50\.0% \(1 hit, 1 miss, as recorded/);
    const dry = await llmemo(['--store', store, 'purge', '--namespace', 'one', '--dry-run']);
    expect(dry.stderr).toContain('Would delete 1 entry (namespace=one).');
    const exported = await llmemo(['--store', store, 'export', join(tempDir(), 'one.jsonl')]);
    expect(exported.stderr).toMatch(/^Exported 1 entry to /);
    const purged = await llmemo(['--store', store, 'purge', '--namespace', 'one', '--yes']);
    expect(purged.stderr).toBe('Deleted 1 entry.\n');
  });
});

describe('TopN', () => {
  it('keeps the first n of a stream in order, never holding more than n', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1009);
    for (const limit of [1, 5, 100, 999, 1000, 2000]) {
      const top = new TopN<number>(limit, (a, b) => a - b);
      let held = 0;
      for (const value of values) {
        top.add(value);
        held = Math.max(held, (top as unknown as { heap: { length: number } }).heap.length);
      }
      expect(held).toBeLessThanOrEqual(limit);
      expect(top.sorted()).toEqual([...values].sort((a, b) => a - b).slice(0, limit));
      expect(top.dropped).toBe(Math.max(0, values.length - limit));
    }
    const everything = new TopN<number>(0, (a, b) => b - a);
    for (const value of values) everything.add(value);
    expect(everything.sorted()).toEqual([...values].sort((a, b) => b - a));
  });
});
