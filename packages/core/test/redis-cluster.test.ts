import KeyvRedis, { createCluster } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheRequest, createCache, type EntryInfo, escapeLabel, type RedisStore } from '../src/index.js';
import { clusterKeys, type RedisCluster, startRedisCluster, until } from './helpers/cluster.js';

const req = (text: string, model = 'gpt-4o-mini'): CacheRequest => ({
  kind: 'chat',
  provider: 'p',
  model,
  input: text,
});

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('a Redis Cluster through a @keyv/redis adapter the app built', () => {
  it('purges, lists, counts and prunes across every master', async () => {
    const client = createCluster({ rootNodes: cluster.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })) });
    const adapter = new KeyvRedis<string>(client as never);
    const cache = createCache({ store: adapter, namespace: 'tenant_a', timeoutMs: 5000 });
    expect(cache.store.type).toBe('redis');
    try {
      for (let i = 0; i < 60; i++) {
        await cache.set(req(`q${i}`, i % 2 ? 'gpt-4o' : 'gpt-4o-mini'), `a${i}`);
        await cache.set(req(`q${i}`), `b${i}`, { namespace: 'tenantXa' });
      }
      await cache.getOrCompute(req('q0'), async () => 'unused');
      await cache.flushStats();
      // The keys really are spread over the masters.
      const perNode = await Promise.all(cluster.ports.map((port) => clusterKeys([port])));
      expect(perNode.filter((keys) => keys.length > 0).length).toBe(3);

      const listed: EntryInfo[] = [];
      for await (const entry of cache.entries()) listed.push(entry);
      expect(listed).toHaveLength(60);
      expect((await cache.storedStats()).totals.hits).toBe(1);

      expect(await cache.purge({ model: 'gpt-4o' })).toBe(30);
      expect(await cache.purge({ namespace: 'tenant_a' })).toBe(30);
      const keys = await clusterKeys(cluster.ports);
      expect(keys.filter((key) => key.includes(escapeLabel('tenant_a')))).toEqual([]);
      expect(keys.filter((key) => key.startsWith(`llmemo:v2:tenantXa:`))).toHaveLength(60);
      expect(await cache.get(req('q7'), { namespace: 'tenantXa' })).toBe('b7');
      expect(await cache.prune()).toBe(0);
    } finally {
      await cache.close();
      await client.close();
    }
  });
});

describe('the local tier on a Redis Cluster', () => {
  it('serves from memory and drops what another client overwrites or deletes, on every master', async () => {
    const nodes = cluster.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` }));
    const writerClient = createCluster({ rootNodes: nodes });
    const readerClient = createCluster({ rootNodes: nodes });
    const writer = createCache({
      store: new KeyvRedis<string>(writerClient as never),
      namespace: 'tier',
      timeoutMs: 5000,
    });
    const reader = createCache({
      store: new KeyvRedis<string>(readerClient as never),
      namespace: 'tier',
      timeoutMs: 5000,
      local: true,
    });
    const tier = (reader.store as RedisStore).localTier;
    try {
      for (let i = 0; i < 30; i++) await writer.set(req(`q${i}`), `v1-${i}`);
      for (let i = 0; i < 30; i++) expect(await reader.get(req(`q${i}`))).toBe(`v1-${i}`);
      expect(tier?.size).toBe(30);
      for (let i = 0; i < 30; i++) {
        if (i % 3 === 0) await writer.delete(req(`q${i}`));
        else await writer.set(req(`q${i}`), `v2-${i}`);
      }
      await until(async () => tier?.size === 0);
      for (let i = 0; i < 30; i++) expect(await reader.get(req(`q${i}`))).toBe(i % 3 === 0 ? undefined : `v2-${i}`);
    } finally {
      await writer.close();
      await reader.close();
      await writerClient.close();
      await readerClient.close();
    }
  });
});
