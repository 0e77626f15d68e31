import { BasicPooledClientSideCache } from '@redis/client';
import { LlmemoError } from '../errors.js';
import type { LocalTier, TierEntry } from './local-tier.js';
import { CorruptStoredValue, parseWrapper } from './store.js';

/**
 * Plugs the local tier into node-redis's client-side caching hooks without letting node-redis cache anything
 * itself. node-redis then does what we want from it: RESP3, `CLIENT TRACKING ON` in the handshake of every
 * (re)connection (so tracking is on before any read of a new socket), `invalidate` pushes parsed on the same
 * connection as the replies, the error/close hooks on every socket, and for a Cluster one provider shared by the
 * clients of every node, cleared on each topology rediscovery.
 *
 * Why not node-redis's own cache (`clientSideCache: { maxEntries }`): it has no byte bound; a server-wide
 * invalidation (FLUSHALL, `invalidate` with a null key) clears its maps without marking reads in flight, so a reply
 * parsed just before the push can still be cached after it; and its hits still pay the command path and a
 * structuredClone, while ours answer synchronously from an LRU.
 */
type HandleCacheArgs = Parameters<BasicPooledClientSideCache['handleCache']>;

class TrackingRelay extends BasicPooledClientSideCache {
  constructor(private readonly tier: LocalTier) {
    super({ maxEntries: 1, recordStats: false });
  }

  // A pass-through: the reply goes back uncached; the tier decides what to keep (see RedisStore.get).
  override async handleCache(...[, parser, fn, transformReply, typeMapping]: HandleCacheArgs): Promise<unknown> {
    const reply = await fn();
    return transformReply ? transformReply(reply, parser.preserve, typeMapping) : reply;
  }

  override invalidate(key: unknown): void {
    if (key === null) this.tier.flush();
    else this.tier.invalidate(String(key));
  }

  override clear(): void {
    this.tier.flush();
  }

  override onError(): void {
    this.tier.flush();
  }

  override onClose(): void {
    this.tier.flush();
  }

  override onPoolClose(): void {
    this.tier.flush();
  }

  override disable(): void {
    this.tier.flush();
    super.disable();
  }

  override enable(): void {
    this.tier.flush();
    super.enable();
  }
}

const CONNECTION_EVENTS = [
  'error',
  'end',
  'reconnecting',
  'connect',
  'ready',
  'disconnect',
  'node-error',
  'node-reconnecting',
  'node-connect',
  'node-ready',
  'node-disconnect',
];

/**
 * How often the tracking connection must prove it is alive. A connection that dies silently (a partition without a
 * reset) raises no socket error, and no invalidation can arrive over it: when a PING sent one period ago has not been
 * answered, the tier stops serving until every node answers again.
 */
const HEARTBEAT_MS = 1000;

interface PingClient {
  ping(): Promise<unknown>;
}

interface ReaderClient {
  readonly clientSideCache?: unknown;
  readonly masters?: unknown[];
  ping?(): Promise<unknown>;
  nodeClient?(node: unknown): Promise<PingClient>;
  connect(): Promise<unknown>;
  get(key: string): Promise<string | null>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  close?(): Promise<unknown>;
  destroy?(): void;
}

interface Duplicable {
  duplicate(overrides: Record<string, unknown>): ReaderClient;
}

/**
 * A second connection (or cluster of connections) to the store's Redis, in RESP3 with tracking on, that serves the
 * tier's reads: every key it reads, Redis promises to report when it changes. The store's own connection stays
 * RESP2 for writes, scans and counters (whose reply shapes RESP3 would change).
 */
export class TrackedReader {
  private readonly client: ReaderClient;
  private readonly connecting: Promise<void>;

  constructor(
    source: unknown,
    readonly tier: LocalTier,
  ) {
    const relay = new TrackingRelay(tier);
    if (typeof (source as Partial<Duplicable>).duplicate !== 'function') {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        "local: this @keyv/redis adapter's client (a Sentinel client?) cannot open a second, tracking connection with the same settings. Use a redis:// URL, a client from createClient or a cluster from createCluster, or drop 'local'.",
      );
    }
    this.client = (source as Duplicable).duplicate({ RESP: 3, clientSideCache: relay });
    if (this.client.clientSideCache !== relay) {
      // Another copy of @redis/client built the store's client: it would wrap our relay as plain settings and
      // cache (and invalidate) on its own, out of our sight. Refuse rather than serve without invalidations.
      throw new LlmemoError(
        'INVALID_OPTIONS',
        "local: the store's Redis client comes from another copy of @redis/client than llmemo's, so llmemo cannot receive its invalidations. Install one version of @redis/client (npm dedupe), or drop 'local'.",
      );
    }
    // Any sign of a connection change: drop everything (pushes may have been lost in between).
    // (A cluster reports its nodes' connections as node-*; the relay's onError covers their sockets too.)
    for (const event of CONNECTION_EVENTS) {
      this.client.on(event, () => tier.flush());
    }
    this.connecting = this.client.connect().then(
      () => {},
      () => {},
    );
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref?.();
  }

  private readonly heartbeat: ReturnType<typeof setInterval>;
  private pinging = false;

  private beat(): void {
    if (this.pinging) {
      // The last PING is a whole period late: invalidations may be stuck behind it too.
      this.tier.suspend();
      return;
    }
    this.pinging = true;
    this.ping().then(
      () => {
        this.pinging = false;
        this.tier.resume();
      },
      () => {
        this.pinging = false;
        this.tier.suspend();
      },
    );
  }

  /** A PING to the server, or to every master of a cluster (each has its own tracking connection). */
  private async ping(): Promise<void> {
    await this.connecting;
    const { client } = this;
    if (client.masters === undefined || client.nodeClient === undefined) {
      await client.ping?.();
      return;
    }
    const nodeClient = client.nodeClient.bind(client);
    await Promise.all(client.masters.map(async (master) => (await nodeClient(master)).ping()));
  }

  /** The entry as Redis holds it (Keyv's JSON wrapper opened), filling the tier unless overtaken. */
  async get(key: string): Promise<TierEntry | undefined> {
    await this.connecting;
    const read = this.tier.begin(key);
    let entry: TierEntry | undefined;
    try {
      const raw = await this.client.get(key);
      if (raw === null) return undefined;
      entry = parseWrapper(raw);
      if (entry === undefined) throw new CorruptStoredValue('the stored value is not an llmemo entry');
      return entry;
    } finally {
      this.tier.end(read, entry);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.tier.flush();
    try {
      await this.client.close?.();
    } catch {
      this.client.destroy?.();
    }
  }
}
