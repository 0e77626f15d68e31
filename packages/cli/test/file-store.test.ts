import { join } from 'node:path';
import { createCache } from '@llmemo/core';
import { tempDir } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { llmemo, oneLine, req, requireBuiltCli } from './helpers.js';

requireBuiltCli();

const DAY = 86_400_000;

/** A fixtures directory as an app's test run leaves it: requests recorded, one entry hit twice, one never. */
async function seed(dir: string): Promise<{ hit: string; idle: string }> {
  const store = `file://${dir}`;
  const cache = createCache({ store, namespace: 'evals', recordRequest: true, persistStats: '1h', ttl: null });
  await cache.set(req('What is the capital of France?'), 'Paris');
  await cache.set(req('Name a prime number.'), '7');
  // Both recorded ten days ago (re-imported with an older write time); only one is read by today's tests.
  const records = [];
  for await (const record of cache.exportEntries()) records.push(record);
  await cache.importEntries(
    records.map((record) => {
      const entry = JSON.parse(record.value) as { createdAt: number };
      entry.createdAt -= 10 * DAY;
      return { ...record, value: JSON.stringify(entry) };
    }),
  );
  for (let i = 0; i < 2; i++) await cache.getOrCompute(req('What is the capital of France?'), async () => 'unused');
  const keys = { hit: cache.key(req('What is the capital of France?')), idle: cache.key(req('Name a prime number.')) };
  await cache.close();
  return keys;
}

describe('llmemo over a file:// fixtures directory', () => {
  it('ls shows hits and the recorded request; inspect shows the request; prune --unused-since removes the idle', async () => {
    const dir = join(tempDir(), 'fixtures');
    const { hit, idle } = await seed(dir);
    const store = `file://${dir}`;

    const listed = await llmemo(['--store', store, 'ls']);
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.stdout.trim().split('\n');
    expect(header).toMatch(/\bhits\s+key\s+request$/);
    expect(rows.find((row) => row.includes('capital'))).toMatch(
      /\s2\s+llmemo:v2:evals:.*What is the capital of France\?/,
    );
    expect(rows.find((row) => row.includes('prime'))).toMatch(/\s-\s+llmemo:v2:evals:/);

    const inspected = JSON.parse((await llmemo(['--store', store, 'inspect', hit])).stdout) as Record<string, unknown>;
    expect(inspected).toMatchObject({
      value: 'Paris',
      hits: 2,
      request: { input: 'What is the capital of France?', model: 'gpt-4o-mini', kind: 'chat' },
    });

    // LLMEMO_MODE and friends are for apps: the CLI ignores them, even invalid ones.
    const env = { LLMEMO_MODE: 'replay', LLMEMO_TTL: 'soon', LLMEMO_NAMESPACE: 'other' };
    const pruned = await llmemo(['--store', store, '--json', 'prune', '--unused-since', '7d'], { env });
    expect(pruned.stderr).toBe('');
    expect(JSON.parse(pruned.stdout)).toEqual({ deleted: 1 });
    const keys = (JSON.parse((await llmemo(['--store', store, '--json', 'ls'])).stdout) as { key: string }[]).map(
      (entry) => entry.key,
    );
    expect(keys).toEqual([hit]);
    expect(keys).not.toContain(idle);
  });

  it('a directory that does not exist is an error, not an empty listing', async () => {
    const result = await llmemo(['--store', `file://${join(tempDir(), 'typo')}`, 'ls']);
    expect(result.code).toBe(1);
    expect(oneLine(result)).toMatch(/no directory at .*typo/);
  });

  it('--unused-since takes a duration', async () => {
    const result = await llmemo(['--store', `file://${tempDir()}`, 'prune', '--unused-since', 'a while']);
    expect(result.code).toBe(2);
  });
});
