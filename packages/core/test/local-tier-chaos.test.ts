import { type RedisServer, startRedisServer, uniqueNamespace } from '@llmemo/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheRequest, createCache, type RedisStore } from '../src/index.js';

const req = (text: string): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: text });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const KEYS = 20;
const CALLERS = 200;

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

interface Sample {
  text: string;
  start: number;
  value: number;
}

describe('chaos: Redis killed and restarted under 200 concurrent calls, local tier on', () => {
  it('fails no call and serves nothing older than the last write the reader had been told about', async () => {
    const namespace = uniqueNamespace('tier-chaos');
    const options = { store: server.url, namespace, timeoutMs: 200, persistStats: false, breaker: { cooldown: 100 } };
    const writer = createCache(options);
    const reader = createCache({ ...options, local: true });
    writer.on('error', () => {});
    reader.on('error', () => {});
    const tier = (reader.store as RedisStore).localTier;
    if (!tier) throw new Error('no local tier');

    // The source of truth (what a fresh compute returns), the writes Redis acknowledged, and when the reader's
    // tier heard of a change (per stored key, or a flush of everything).
    const truth = new Map<string, number>();
    const acked = new Map<string, { version: number; at: number }[]>();
    const keyOf = new Map<string, string>();
    const invalidated = new Map<string, number[]>();
    const flushes: number[] = [];
    const invalidate = tier.invalidate.bind(tier);
    const flush = tier.flush.bind(tier);
    tier.invalidate = (key) => {
      invalidated.set(key, [...(invalidated.get(key) ?? []), performance.now()]);
      invalidate(key);
    };
    tier.flush = () => {
      flushes.push(performance.now());
      flush();
    };
    let tierHits = 0;
    const get = tier.get.bind(tier);
    tier.get = (key, now) => {
      const value = get(key, now);
      if (value !== undefined) tierHits++;
      return value;
    };
    let writtenKey = '';
    writer.on('write', (event) => {
      writtenKey = event.key;
    });

    let running = true;
    const writes = (async () => {
      for (let n = 0; running; n++) {
        const text = `q${n % KEYS}`;
        const version = (truth.get(text) ?? 0) + 1;
        truth.set(text, version);
        if (await writer.set(req(text), version)) {
          acked.set(text, [...(acked.get(text) ?? []), { version, at: performance.now() }]);
          keyOf.set(text, writtenKey);
        }
        await sleep(2);
      }
    })();

    const samples: Sample[] = [];
    let failed = 0;
    const callers = Array.from({ length: CALLERS }, async (_, caller) => {
      for (let n = 0; running; n++) {
        const text = `q${(caller + n) % KEYS}`;
        const start = performance.now();
        try {
          // read-only: the reader's own write-behind could put back an older computed version (the cache-aside
          // race, the same with or without the tier); only the writer writes, so Redis holds acknowledged values.
          const result = await reader.getOrCompute(req(text), async () => truth.get(text) ?? 0, {
            mode: 'read-only',
          });
          samples.push({ text, start, value: result.value });
        } catch {
          failed++;
        }
        await sleep(1);
      }
    });

    await sleep(1000);
    await server.kill();
    await sleep(500);
    await server.restart();
    const restartedAt = performance.now();
    const outageFlushes = flushes.length;
    await sleep(1500);
    running = false;
    await Promise.all([writes, ...callers]);
    await Promise.all([writer.close(), reader.close()]);

    // A read that began after the tier heard of a change made after write v acknowledged must answer v or later.
    const heardAfter = (text: string, at: number, before: number) =>
      [...(invalidated.get(keyOf.get(text) ?? '') ?? []), ...flushes].some((t) => t > at && t < before);
    let stale = 0;
    for (const sample of samples) {
      const required = (acked.get(sample.text) ?? [])
        .filter((write) => write.at < sample.start && heardAfter(sample.text, write.at, sample.start))
        .reduce((max, write) => Math.max(max, write.version), 0);
      if (sample.value < required) stale++;
    }
    expect({ failed, stale }).toEqual({ failed: 0, stale: 0 });
    // The run really exercised the tier, the outage and the recovery.
    expect(samples.length).toBeGreaterThan(CALLERS * 5);
    expect(outageFlushes).toBeGreaterThan(0);
    expect([...acked.values()].flat().some((write) => write.at > restartedAt)).toBe(true);
    expect(tierHits).toBeGreaterThan(CALLERS);
  });
});
