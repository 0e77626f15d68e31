import type Keyv from 'keyv';

/**
 * What the cache needs from a store. Every implementation is a thin layer over a Keyv instance, so any Keyv
 * adapter works; the few extras (listing keys by prefix, pruning) are optional and use the backend's own query
 * language where Keyv has none.
 */
export interface CacheStore {
  /** 'memory', 'sqlite', 'redis'; 'keyv' for a Keyv instance the app built, 'adapter' for a bare Keyv adapter. */
  readonly type: 'memory' | 'sqlite' | 'redis' | 'keyv' | 'adapter';
  readonly keyv: Keyv;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number | undefined): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Resolves once the backend is usable (connection open, schema in place). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The Keyv wrapper every built-in store shares: values are our own encoded strings, keys are used as given. */
export class KeyvStore implements CacheStore {
  constructor(
    readonly type: CacheStore['type'],
    readonly keyv: Keyv,
    private readonly onReady: () => Promise<void> = async () => {},
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  async get(key: string): Promise<string | undefined> {
    const value = await this.keyv.get<unknown>(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new TypeError(`store returned a ${typeof value}, not an encoded entry`);
    return value;
  }

  async set(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    const ok = await this.keyv.set(key, value, ttlMs);
    if (ok === false) throw new Error('the store refused the write');
  }

  async delete(key: string): Promise<boolean> {
    return this.keyv.delete(key);
  }

  ready(): Promise<void> {
    return this.onReady();
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
