import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { createCache } from '@llmemo/core';
import { startRedisServer } from '@llmemo/test-support/redis';
import Keyv from 'keyv';
import stringify from 'safe-stable-stringify';
import { chatRequest } from './fixtures.js';
import { measure, type Row, type Suite, table } from './harness.js';

async function keyDerivation(): Promise<string> {
  const cache = createCache();
  const rows: Row[] = [];
  for (const size of [2_000, 20_000, 200_000]) {
    const request = chatRequest(size);
    const actual = Buffer.byteLength(JSON.stringify(request));
    const results = await measure({
      llmemo: () => cache.key(request),
      baseline: () =>
        createHash('sha256')
          .update(stringify(request) as string)
          .digest('hex'),
    });
    rows.push({
      scenario: `key for a ${Math.round(actual / 1000)} KB chat request`,
      measured: results.llmemo!,
      baseline: results.baseline!,
      target: '≤ 1.5×',
    });
  }
  return table('Key derivation: cache.key(request) vs sha256(safe-stable-stringify(request))', rows);
}

async function hitPath(): Promise<string> {
  const redis = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'llmemo-bench-'));
  const rows: Row[] = [];
  try {
    const request = chatRequest(2_000);
    const answer = {
      content: [{ type: 'text', text: 'The weather in Paris is mild. '.repeat(20) }],
      finishReason: 'stop',
    };
    const stores: [string, string, () => Keyv][] = [
      ['memory', 'memory://', () => new Keyv()],
      [
        'SQLite',
        `sqlite://${join(dir, 'ours.sqlite')}`,
        () => new Keyv(new KeyvSqlite(`sqlite://${join(dir, 'raw.sqlite')}`)),
      ],
      ['Redis', redis.url, () => new Keyv(new KeyvRedis(redis.url))],
    ];
    for (const [name, url, rawKeyv] of stores) {
      const cache = createCache({ store: url, timeoutMs: 5000 });
      await cache.set(request, answer);
      const key = cache.key(request);
      const stored = await cache.store.get(key);
      const raw = rawKeyv();
      raw.on('error', () => {});
      await raw.set(key, stored);
      const compute = () => {
        throw new Error('a hit must not compute');
      };
      const results = await measure({
        llmemo: () => cache.getOrCompute(request, compute),
        baseline: () => raw.get(key),
      });
      rows.push({
        scenario: `hit on ${name} (2 KB request, ${Buffer.byteLength(stored ?? '')} B entry)`,
        measured: results.llmemo!,
        baseline: results.baseline!,
        target: name === 'memory' ? '≤ 30 µs' : name === 'Redis' ? '≤ 1.3×' : '',
      });
      await cache.close();
      await raw.disconnect?.();
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return table('Hit path: getOrCompute on a hit (key + get + decode) vs a raw Keyv get of the same value', rows);
}

export const suite: Suite = {
  name: 'core',
  async run() {
    return `${await keyDerivation()}\n${await hitPath()}`;
  },
};
