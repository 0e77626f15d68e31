import KeyvRedisImport from '@keyv/redis';
import type { HitRow } from '../hits.js';
import type { SeriesResolution, SeriesRow } from '../series.js';
import { LocalTier, type LocalTierOptions } from './local-tier.js';
import { rawKeyv } from './raw-keyv.js';
import {
  addRedisCounters,
  deleteRedisCounters,
  globEscape,
  type NodeClient,
  readRedisCounters,
  readRedisSeries,
} from './redis-counters.js';
import { addRedisHits, deleteRedisHits, type HitsClient, readRedisHits } from './redis-hits.js';
import { TrackedReader } from './redis-tracking.js';
import { readValue, type ValueClient, writeValue } from './redis-values.js';
import { BATCH_SIZE, type CounterRow, KeyvStore, parseWrapper, type ScannedEntry } from './store.js';

export { globEscape, SERIES_PREFIX, STATS_PREFIX } from './redis-counters.js';

export interface RedisStoreOptions {
  /** Give up connecting after this long. Default 2000 ms. */
  connectTimeoutMs?: number;
}

type RedisClient = {
  isReady: boolean;
  isOpen: boolean;
  connect(): Promise<unknown>;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
};

/**
 * @keyv/redis has no named export of its adapter class, and our CJS build (esbuild's Node interop) hands a default
 * import the whole `module.exports` object; the ESM build hands the class. Accept both.
 */
const KeyvRedis: typeof KeyvRedisImport =
  typeof KeyvRedisImport === 'function'
    ? KeyvRedisImport
    : (KeyvRedisImport as unknown as { default: typeof KeyvRedisImport }).default;
type KeyvRedis<T> = InstanceType<typeof KeyvRedisImport<T>>;

/** A @keyv/redis adapter (duck-typed: the app may hold another copy of the package) without a key namespace. */
export function isKeyvRedisAdapter(value: unknown): value is KeyvRedis<string> {
  const candidate = value as Partial<KeyvRedis<string>> | null;
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.getMasterNodes === 'function' &&
    typeof candidate.isCluster === 'function' &&
    typeof candidate.getClient === 'function' &&
    candidate.namespace === undefined
  );
}

function noop(): void {}

const UNLOCK_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * The @keyv/redis adapter with client settings that fail fast: no offline queue (a command while disconnected
 * rejects at once instead of waiting for a reconnect) and a bounded, backing-off reconnect loop.
 *
 * Maintenance uses SCAN (never KEYS) with MATCH on the exact, glob-escaped prefix and deletes with UNLINK in
 * batches, on every master of a cluster. Cluster masters only accept multi-key commands within one hash slot, so
 * there values and deletes go one key per command (node-redis pipelines them into one round trip).
 */
export class RedisStore extends KeyvStore {
  override readonly sharedCounters = true;
  override readonly deleteWhileScanning = true;
  readonly adapter: KeyvRedis<string>;
  readonly client: RedisClient;

  /**
   * From a URL (llmemo builds the client), or from a @keyv/redis adapter the app built, e.g. over
   * `createCluster(…)`: its client settings are kept, and closing the cache leaves its connection to the app.
   */
  constructor(source: string | KeyvRedis<string>, options: RedisStoreOptions = {}) {
    const owned = typeof source === 'string';
    const connectTimeout = options.connectTimeoutMs ?? 2000;
    const adapter =
      typeof source === 'string'
        ? new KeyvRedis<string>(
            {
              url: source,
              disableOfflineQueue: true,
              socket: {
                connectTimeout,
                // Keep trying forever, but never more often than every 50 ms nor less often than every 2 s.
                reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
              },
            },
            { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: connectTimeout },
          )
        : source;
    adapter.namespace = undefined;
    const keyv = rawKeyv(adapter, { json: true });
    adapter.on('error', () => {});
    const client = adapter.client as unknown as RedisClient;
    client.on('error', () => {});
    // Connect now: with the offline queue off, commands sent before the first connection completes would fail
    // with "client is offline". Operations wait for this first attempt only (bounded by the cache's timeout);
    // after it, a lost connection makes commands fail fast, as intended.
    const first = { connecting: owned ? adapter.getClient().then(noop, noop) : undefined };
    super(
      'redis',
      keyv,
      async () => {
        await first.connecting;
        await adapter.getClient();
      },
      async () => {
        await this.reader?.close();
        if (!owned) return;
        try {
          if (client.isOpen) await adapter.disconnect();
        } catch {
          client.destroy?.();
        }
      },
    );
    this.adapter = adapter;
    this.client = client;
    this.connecting = first.connecting;
    first.connecting?.then(() => {
      this.connecting = undefined;
    });
  }

  private connecting: Promise<void> | undefined;
  /** With `local`: the RESP3 tracking connection that reads for, and invalidates, the in-process tier. */
  private reader: TrackedReader | undefined;

  /** Turns on the in-process tier (see local-tier.ts); reads then go through a tracking connection. */
  attachLocalTier(options: Readonly<Required<LocalTierOptions>>): void {
    this.reader = new TrackedReader(this.adapter.client, new LocalTier(options));
  }

  get localTier(): LocalTier | undefined {
    return this.reader?.tier;
  }

  cached(key: string): string | undefined {
    return this.reader?.tier.get(key);
  }

  override get(key: string): Promise<string | undefined> {
    // A hit without the tier, connected: the command's own promise, with no async layer of ours around it.
    const client = this.adapter.client as unknown as ValueClient;
    if (this.reader === undefined && this.connecting === undefined && client.isOpen) {
      try {
        return readValue(client, key);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.getWhenConnected(key);
  }

  private async getWhenConnected(key: string): Promise<string | undefined> {
    if (this.connecting) await this.connecting;
    if (this.reader === undefined) return readValue(await this.valueClient(), key);
    const entry = await this.reader.get(key);
    // Keyv's own get hides an entry past its stored expiry the same way (Redis drops the key itself soon after).
    return entry === undefined || (entry.expires !== undefined && entry.expires <= Date.now())
      ? undefined
      : entry.value;
  }

  /**
   * Our own change to keys: drop them from the tier before (so reads in flight cannot bring the old value back)
   * and after (Redis's invalidation for a read that raced the write may land after the write's reply).
   */
  private async changing<T>(drop: () => void, change: () => Promise<T>): Promise<T> {
    if (this.reader === undefined) return change();
    drop();
    try {
      return await change();
    } finally {
      drop();
    }
  }

  /** SET NX PX: true when this caller now holds the lock. */
  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    const client = (await this.any()) as unknown as {
      set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
    };
    return (await client.set(key, token, { NX: true, PX: ttlMs })) === 'OK';
  }

  /** Deletes the lock only if it is still ours (it may have expired and been taken by another process). */
  async unlock(key: string, token: string): Promise<void> {
    const client = (await this.any()) as unknown as {
      eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
    };
    await client.eval(UNLOCK_SCRIPT, { keys: [key], arguments: [token] });
  }

  override set(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    // Every miss writes: without the tier and connected, the command's own promise (as for get).
    const client = this.adapter.client as unknown as ValueClient;
    if (this.reader === undefined && this.connecting === undefined && client.isOpen) {
      try {
        return writeValue(client, key, value, ttlMs);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.setWhenConnected(key, value, ttlMs);
  }

  private async setWhenConnected(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    if (this.connecting) await this.connecting;
    return this.changing(
      () => this.reader?.tier.invalidate(key),
      async () => writeValue(await this.valueClient(), key, value, ttlMs),
    );
  }

  /** The client for values: at once while it is open, else through the adapter, which (re)connects it. */
  private valueClient(): ValueClient | Promise<ValueClient> {
    const client = this.adapter.client as unknown as ValueClient;
    return client.isOpen ? client : (this.adapter.getClient() as unknown as Promise<ValueClient>);
  }

  override async delete(key: string): Promise<boolean> {
    if (this.connecting) await this.connecting;
    return this.changing(
      () => this.reader?.tier.invalidate(key),
      () => super.delete(key),
    );
  }

  private get cluster(): boolean {
    return this.adapter.isCluster();
  }

  private async masters(): Promise<NodeClient[]> {
    if (this.connecting) await this.connecting;
    return (await this.adapter.getMasterNodes()) as unknown as NodeClient[];
  }

  /** A client for single-key commands (the cluster client routes them by slot). */
  private async any(): Promise<NodeClient> {
    if (this.connecting) await this.connecting;
    return (await this.adapter.getClient()) as unknown as NodeClient;
  }

  override async peek(key: string): Promise<ScannedEntry | undefined> {
    const wrapped = parseWrapper(await (await this.any()).get(key));
    return wrapped ? { key, ...wrapped } : undefined;
  }

  override async *scanKeys(prefix: string): AsyncIterable<string[]> {
    for (const node of await this.masters()) {
      // SCAN may return a key twice while the keyspace rehashes; never hand a caller the same key twice.
      const seen = new Set<string>();
      for await (const keys of node.scanIterator({
        MATCH: `${globEscape(prefix)}*`,
        COUNT: BATCH_SIZE,
        TYPE: 'string',
      })) {
        const fresh = keys.filter((key) => key.startsWith(prefix) && !seen.has(key));
        for (const key of fresh) seen.add(key);
        if (fresh.length > 0) yield fresh;
      }
    }
  }

  override async *scan(prefix: string): AsyncIterable<ScannedEntry[]> {
    for await (const keys of this.scanKeys(prefix)) {
      const values = await this.values(keys);
      const batch: ScannedEntry[] = [];
      for (const [index, key] of keys.entries()) {
        const wrapped = parseWrapper(values[index]);
        if (wrapped) batch.push({ key, ...wrapped });
      }
      if (batch.length > 0) yield batch;
    }
  }

  private async values(keys: string[]): Promise<(string | null)[]> {
    const client = await this.any();
    if (!this.cluster) return client.mGet(keys);
    return Promise.all(keys.map((key) => client.get(key)));
  }

  override async deleteKeys(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.changing(
      () => {
        for (const key of keys) this.reader?.tier.invalidate(key);
      },
      () => this.unlinkKeys(keys),
    );
  }

  private async unlinkKeys(keys: readonly string[]): Promise<number> {
    const client = await this.any();
    let deleted = 0;
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      const batch = keys.slice(start, start + BATCH_SIZE);
      if (this.cluster) {
        const counts = await Promise.all(batch.map((key) => client.unlink(key)));
        deleted += counts.reduce((sum, n) => sum + n, 0);
      } else {
        deleted += await client.unlink(batch);
      }
    }
    return deleted;
  }

  override async deletePrefix(prefix: string): Promise<number> {
    return this.changing(
      () => this.reader?.tier.invalidatePrefix(prefix),
      async () => {
        let deleted = 0;
        for await (const keys of this.scanKeys(prefix)) deleted += await this.deleteKeys(keys);
        return deleted;
      },
    );
  }

  /** Redis expires keys itself (every write sets PX unless ttl is null): nothing to prune. */
  override async prune(): Promise<number> {
    return 0;
  }

  override async count(): Promise<number | undefined> {
    return undefined;
  }

  // Counters: see redis-counters.ts.

  override async addCounters(rows: readonly CounterRow[]): Promise<void> {
    if (rows.length === 0) return;
    await addRedisCounters(await this.any(), rows);
  }

  override async readCounters(namespace?: string): Promise<CounterRow[]> {
    return readRedisCounters(await this.any(), await this.masters(), namespace);
  }

  override async readSeries(
    resolution: SeriesResolution,
    from: number,
    to: number,
    namespace?: string,
  ): Promise<SeriesRow[]> {
    return readRedisSeries(await this.any(), resolution, from, to, namespace);
  }

  override async deleteCounters(namespace?: string): Promise<void> {
    await deleteRedisCounters(await this.any(), await this.masters(), namespace);
    await deleteRedisHits((await this.any()) as unknown as HitsClient, await this.masters(), namespace);
  }

  // Per-entry hits: see redis-hits.ts.

  override async addHits(rows: readonly HitRow[]): Promise<void> {
    if (rows.length === 0) return;
    await addRedisHits((await this.any()) as unknown as HitsClient, rows);
  }

  override async readHits(keys: readonly string[]): Promise<Map<string, HitRow>> {
    return readRedisHits((await this.any()) as unknown as HitsClient, keys);
  }
}
