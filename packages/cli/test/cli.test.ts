import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCache, type ResponseCache } from '@llmemo/core';
import { freePort, redisUrl, tempDir, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { llmemo, oneLine, req, requireBuiltCli, usage } from './helpers.js';

requireBuiltCli();

const open: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((cache) => cache.close()));
});

/** An app's cache over the same store (another process from the CLI's point of view). */
function appCache(store: string, options: Parameters<typeof createCache>[0] = {}): ResponseCache {
  const cache = createCache({ store, timeoutMs: 5000, pruneInterval: false, ...options });
  open.push(cache);
  return cache;
}

/** Two tenants (one with `_` in its name), usage recorded, two hits, one expired entry. */
async function seed(store: string, prefix = ''): Promise<{ a: string; b: string }> {
  const a = `${prefix}tenant-a`;
  const b = `${prefix}tenant_b`;
  const cache = createCache({ store, namespace: a, timeoutMs: 5000, pruneInterval: false });
  for (let i = 0; i < 3; i++)
    await cache.getOrCompute(req(`question ${i}`), async () => `answer ${i}`, { metadata: usage });
  await cache.set(req('embed me', { kind: 'embedding', model: 'text-embedding-3-small' }), [0.1, 0.2]);
  await cache.set(req('gone'), 'expired soon', { ttl: 1 });
  for (let i = 0; i < 2; i++) {
    await cache.set(req(`b question ${i}`, { model: 'ft:gpt-4o:org:x' }), `b answer ${i}`, { namespace: b });
  }
  await cache.flush();
  await cache.getOrCompute(req('question 0'), async () => 'unused');
  await cache.getOrCompute(req('question 1'), async () => 'unused');
  await cache.close();
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { a, b };
}

describe('llmemo on a SQLite file', () => {
  let store: string;
  let file: string;
  beforeEach(async () => {
    file = join(tempDir(), 'cache.sqlite');
    store = `sqlite://${file}`;
    await seed(store);
  });

  it('stats: entries, size, age, by namespace and model, hit rate and tokens saved recorded by the app', async () => {
    const json = await llmemo(['--store', store, '--json', 'stats']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ store: 'sqlite', entries: 7, expired: 1 });
    expect(report.bytes).toBeGreaterThan(0);
    expect(report.namespaces['tenant-a']).toMatchObject({ entries: 5, hits: 2, misses: 3 });
    expect(report.namespaces.tenant_b).toMatchObject({ entries: 2 });
    expect(report.models['ft:gpt-4o:org:x']).toMatchObject({ entries: 2 });
    expect(report.counters).toMatchObject({ hits: 2, misses: 3, inputTokensSaved: 200, outputTokensSaved: 100 });
    expect(report.age.oldest).toBeGreaterThanOrEqual(report.age.newest);

    const prices = join(tempDir(), 'prices.json');
    writeFileSync(prices, JSON.stringify({ 'gpt-4o-mini': { input: 1000, output: 2000 } }));
    const human = await llmemo(['stats', '--prices', prices], { env: { LLMEMO_STORE: store } });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Entries\s+7 .*1 expired: run `llmemo prune`/);
    expect(human.stdout).toMatch(/Hit rate\s+40\.0% \(2 hits, 3 misses/);
    expect(human.stdout).toMatch(/Saved\s+200 input \+ 100 output tokens, worth 0\.4000/);
    expect(human.stdout).toMatch(/^tenant_b\s+2\s/m);
    expect(human.stdout).toMatch(/^ft:gpt-4o:org:x\s+2\s/m);
  });

  it('ls lists live entries newest first, filters, limits, and prints JSON', async () => {
    const all = await llmemo(['--store', store, 'ls']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^age\s+expires\s+size\s+namespace\s+kind\s+model\s+sealed\s+hits\s+key$/);
    expect(lines).toHaveLength(1 + 6);
    const tenantB = await llmemo(['--store', store, 'ls', '--namespace', 'tenant_b']);
    expect(tenantB.stdout.trim().split('\n').slice(1)).toHaveLength(2);
    const json = JSON.parse((await llmemo(['--store', store, '--json', 'ls', '--expired', '--kind', 'chat'])).stdout);
    expect(json).toHaveLength(6);
    expect(json.filter((e: { expired: boolean }) => e.expired)).toHaveLength(1);
    const limited = await llmemo(['--store', store, 'ls', '--limit', '2']);
    expect(limited.stdout.trim().split('\n')).toHaveLength(3);
    expect(limited.stderr).toContain('… and 4 more');
  });

  it('inspect shows metadata and value; an unknown key is one line and exit 1', async () => {
    const key = appCache(store, { namespace: 'tenant-a' }).key(req('question 2'));
    const shown = await llmemo(['--store', store, 'inspect', key]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      key,
      namespace: 'tenant-a',
      model: 'gpt-4o-mini',
      usage: { inputTokens: 100, outputTokens: 50 },
      value: 'answer 2',
    });
    const missing = await llmemo(['--store', store, 'inspect', `${key.slice(0, -4)}0000`]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toMatch(/no entry with key .*`llmemo ls`/);
  });

  it('purge: --dry-run deletes nothing, it asks unless --yes, and a tenant purge leaves the other tenant', async () => {
    const dry = await llmemo(['--store', store, 'purge', '--namespace', 'tenant-a', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim().split('\n')).toHaveLength(5);
    expect(dry.stderr).toContain('Would delete 5 entries (namespace=tenant-a). Nothing was deleted.');

    const declined = await llmemo(['--store', store, 'purge', '--namespace', 'tenant-a'], { input: 'n\n' });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('Delete 5 entries (namespace=tenant-a)? [y/N]');
    expect(declined.stderr).toContain('aborted: nothing was deleted');
    const noAnswer = await llmemo(['--store', store, 'purge', '--namespace', 'tenant-a']);
    expect(noAnswer.code).toBe(1);
    expect(JSON.parse((await llmemo(['--store', store, '--json', 'stats'])).stdout).entries).toBe(7);

    const accepted = await llmemo(['--store', store, 'purge', '--namespace', 'tenant-a'], { input: 'y\n' });
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toContain('Deleted 5 entries.');
    const app = appCache(store, { namespace: 'tenant_b' });
    expect(await app.get(req('b question 1', { model: 'ft:gpt-4o:org:x' }))).toBe('b answer 1');
    expect(await app.get(req('question 1'), { namespace: 'tenant-a' })).toBeUndefined();
    const report = JSON.parse((await llmemo(['--store', store, '--json', 'stats'])).stdout);
    expect(Object.keys(report.namespaces)).toEqual(['tenant_b']);

    const byModel = await llmemo(['--store', store, '--json', 'purge', '--model', 'ft:gpt-4o:org:x', '--yes']);
    expect(JSON.parse(byModel.stdout)).toEqual({ deleted: 2 });
  });

  it('purge refuses to run without a filter, and rejects a bad duration in one line', async () => {
    const bare = await llmemo(['--store', store, 'purge', '--yes']);
    expect(bare.code).toBe(2);
    expect(oneLine(bare)).toContain('purge needs a filter');
    const bad = await llmemo(['--store', store, 'purge', '--older-than', '7 parsecs', '--yes']);
    expect(bad.code).toBe(2);
    expect(oneLine(bad)).toMatch(/--older-than must be .*'7d'.*got "7 parsecs"/);
    const old = await llmemo(['--store', store, '--json', 'purge', '--older-than', '1h', '--yes']);
    expect(JSON.parse(old.stdout)).toEqual({ deleted: 0 });
  });

  it('prune deletes the expired entry', async () => {
    const pruned = await llmemo(['--store', store, 'prune']);
    expect(pruned.code).toBe(0);
    expect(pruned.stderr).toContain('Deleted 1 expired entry.');
    expect(JSON.parse((await llmemo(['--store', store, '--json', 'stats'])).stdout)).toMatchObject({
      entries: 6,
      expired: 0,
    });
  });

  it('export → import migrates SQLite to Redis (file, and stdin), keeping live entries only', async () => {
    const out = join(tempDir(), 'dump.jsonl');
    const exported = await llmemo(['--store', store, 'export', out, '--progress']);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toMatch(/exporting \[#+-*\] \d+% 6\/7 entries/);
    expect(exported.stderr).toContain(`Exported 6 entries to ${out}.`);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'llmemo-export', version: 1 });
    expect(lines).toHaveLength(7);

    // Into Redis, under a prefix only this test uses: rewrite the namespaces in the keys and envelopes.
    const suffix = uniqueNamespace('mig');
    const moved = lines
      .map((line) => line.replaceAll('tenant-a', `tenant-a-${suffix}`).replaceAll('tenant_b', `tenant_b-${suffix}`))
      .join('\n')
      .replaceAll('tenant~5Fb', `tenant~5Fb-${suffix}`);
    const movedFile = join(tempDir(), 'moved.jsonl');
    writeFileSync(movedFile, moved);
    const imported = await llmemo(['--store', redisUrl(), 'import', movedFile]);
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain('Imported 6 entries.');
    const redis = appCache(redisUrl());
    expect(await redis.get(req('question 2'), { namespace: `tenant-a-${suffix}` })).toBe('answer 2');
    expect(
      await redis.get(req('b question 0', { model: 'ft:gpt-4o:org:x' }), { namespace: `tenant_b-${suffix}` }),
    ).toBe('b answer 0');

    // Through a pipe: export to stdout, import from stdin, into a fresh SQLite file.
    const target = `sqlite://${join(tempDir(), 'copy.sqlite')}`;
    const piped = await llmemo(['--store', store, 'export', '--namespace', 'tenant_b']);
    const fromStdin = await llmemo(['--store', target, '--json', 'import'], { input: piped.stdout });
    expect(JSON.parse(fromStdin.stdout)).toEqual({ imported: 2, expired: 0, invalid: 0 });
  });

  it('rejects an import that is not an export, in one line', async () => {
    const junk = join(tempDir(), 'junk.jsonl');
    writeFileSync(junk, '{"hello":"world"}\n');
    const result = await llmemo(['--store', store, 'import', junk]);
    expect(result.code).toBe(1);
    expect(oneLine(result)).toContain('is not an llmemo export');
    const missing = await llmemo(['--store', store, 'import', join(tempDir(), 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toMatch(/cannot read .*nope\.jsonl: ENOENT/);
  });
});

describe('llmemo on encrypted entries', () => {
  const key = randomBytes(32).toString('base64');
  let store: string;
  let entryKey: string;
  beforeEach(async () => {
    store = `sqlite://${join(tempDir(), 'enc.sqlite')}`;
    const cache = appCache(store, { encryption: { key }, namespace: 'secure' });
    await cache.set(req('secret question'), 'secret answer', { metadata: usage() });
    entryKey = cache.key(req('secret question'));
    await cache.close();
  });

  it('stats and ls work without the key', async () => {
    const report = JSON.parse((await llmemo(['--store', store, '--json', 'stats'])).stdout);
    expect(report).toMatchObject({ entries: 1, encrypted: 1 });
    const listed = await llmemo(['--store', store, 'ls']);
    expect(listed.stdout).toMatch(/secure\s+chat\s+gpt-4o-mini\s+enc\s/);
    expect(listed.stdout).not.toContain('secret answer');
  });

  it('inspect opens the value with the key, and says which key is missing or wrong', async () => {
    const withKey = await llmemo(['--store', store, 'inspect', entryKey], { env: { LLMEMO_ENCRYPTION_KEY: key } });
    expect(withKey.code).toBe(0);
    expect(JSON.parse(withKey.stdout)).toMatchObject({ value: 'secret answer', encrypted: true });

    const without = await llmemo(['--store', store, 'inspect', entryKey]);
    expect(without.code).toBe(1);
    expect(JSON.parse(without.stdout)).toMatchObject({ encrypted: true, usage: { inputTokens: 100 } });
    expect(JSON.parse(without.stdout).value).toBeUndefined();
    expect(oneLine(without)).toMatch(/encrypted .* LLMEMO_ENCRYPTION_KEY/);

    const wrong = await llmemo([
      '--store',
      store,
      '--encryption-key',
      randomBytes(32).toString('hex'),
      'inspect',
      entryKey,
    ]);
    expect(wrong.code).toBe(1);
    expect(oneLine(wrong)).toMatch(/key id [0-9a-f]{8}/);
    expect(wrong.stdout).not.toContain('secret answer');

    const malformed = await llmemo(['--store', store, '--encryption-key', 'hunter2', 'inspect', entryKey]);
    expect(malformed.code).toBe(2);
    expect(oneLine(malformed)).toMatch(/--encryption-key must be 32 bytes/);
    expect(malformed.stderr).not.toContain('hunter2');
  });
});

describe('llmemo against Redis', () => {
  it('stats, ls and purge --yes work on the test redis-server', async () => {
    const prefix = `${uniqueNamespace('cli')}-`;
    const { a, b } = await seed(redisUrl(), prefix);
    const report = JSON.parse((await llmemo(['--store', redisUrl(), '--json', 'stats', '--namespace', a])).stdout);
    // Redis expired the 1 ms entry by itself.
    expect(report).toMatchObject({ store: 'redis', entries: 4, counters: { hits: 2, misses: 3 } });
    const listed = await llmemo(['--store', redisUrl(), '--json', 'ls', '--namespace', b]);
    expect(JSON.parse(listed.stdout)).toHaveLength(2);
    const purged = await llmemo(['--store', redisUrl(), '--json', 'purge', '--namespace', a, '--yes']);
    expect(JSON.parse(purged.stdout)).toEqual({ deleted: 4 });
    const after = JSON.parse((await llmemo(['--store', redisUrl(), '--json', 'stats', '--namespace', a])).stdout);
    expect(after).toMatchObject({ entries: 0, counters: { hits: 0, misses: 0 } });
    expect(JSON.parse((await llmemo(['--store', redisUrl(), '--json', 'ls', '--namespace', b])).stdout)).toHaveLength(
      2,
    );
  });
});

describe('llmemo errors are one line that says what to do', () => {
  it.each([
    [[], 'no store', 2, /no store given: pass --store sqlite:\/\/.* or set LLMEMO_STORE/],
    [['--store', 'ftp://host/x'], 'an unknown scheme', 2, /--store must be sqlite:\/\/.*got "ftp:\/\/…"/],
    [['--store', 'memory://'], 'memory://', 2, /memory:\/\/ lives inside one process/],
    [['--store', 'sqlite:///no/such/dir/cache.sqlite'], 'a missing SQLite file', 1, /no SQLite database at \/no\/such/],
  ] as const)('%j (%s)', async (args, _name, code, message) => {
    const result = await llmemo([...args, 'stats']);
    expect(result.code).toBe(code);
    expect(oneLine(result)).toMatch(message);
  });

  it('an unreachable Redis (password redacted)', async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await llmemo(['--store', `redis://app:s3cret@127.0.0.1:${port}`, 'stats']);
    expect(result.code).toBe(1);
    const line = oneLine(result);
    expect(line).toMatch(
      /cannot open redis:\/\/app:\*\*\*@127\.0\.0\.1:\d+ \(connect ECONNREFUSED .*\): check the URL/,
    );
    expect(line).not.toContain('s3cret');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('an unknown command or flag', async () => {
    const result = await llmemo(['--store', 'sqlite://x.sqlite', 'purgee']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^llmemo: unknown command 'purgee'/);
  });
});
