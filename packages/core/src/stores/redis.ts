import KeyvRedis from '@keyv/redis';
import Keyv from 'keyv';
import { KeyvStore } from './store.js';

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
 * The @keyv/redis adapter with client settings that fail fast: no offline queue (a command while disconnected
 * rejects at once instead of waiting for a reconnect) and a bounded, backing-off reconnect loop.
 */
export class RedisStore extends KeyvStore {
  readonly adapter: KeyvRedis<string>;
  readonly client: RedisClient;

  constructor(url: string, options: RedisStoreOptions = {}) {
    const connectTimeout = options.connectTimeoutMs ?? 2000;
    const adapter = new KeyvRedis<string>(
      {
        url,
        disableOfflineQueue: true,
        socket: {
          connectTimeout,
          // Keep trying forever, but never more often than every 50 ms nor less often than every 2 s.
          reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
        },
      },
      { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: connectTimeout },
    );
    adapter.namespace = undefined;
    const keyv = new Keyv({
      store: adapter,
      namespace: undefined,
      useKeyPrefix: false,
      serialize: JSON.stringify,
      deserialize: JSON.parse,
      throwOnErrors: true,
    });
    keyv.on('error', () => {});
    adapter.on('error', () => {});
    const client = adapter.client as unknown as RedisClient;
    client.on('error', () => {});
    super(
      'redis',
      keyv,
      async () => {
        await adapter.getClient();
      },
      async () => {
        try {
          if (client.isOpen) await adapter.disconnect();
        } catch {
          client.destroy?.();
        }
      },
    );
    this.adapter = adapter;
    this.client = client;
  }
}
