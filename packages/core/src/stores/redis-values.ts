import { CorruptStoredValue } from './store.js';

/** The two commands a Redis store's hot path sends (the node-redis client, or its cluster client). */
export interface ValueClient {
  isOpen: boolean;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { PX: number }): Promise<unknown>;
}

/**
 * Keyv's `get` through @keyv/redis, without the two layers: the same stored wrapper (`{ value, expires }` as JSON),
 * the same answers (undefined for an absent, empty or expired wrapper; CorruptStoredValue for what is not Keyv's
 * JSON or holds no string). Keyv also deletes an expired wrapper it reads; Redis drops the key itself, since every
 * wrapper with `expires` was written with the same PX. The layers cost a hit several promise hops (hooks, an awaited
 * deserializer, the adapter's getClient) for nothing a RedisStore uses.
 */
export function readValue(client: ValueClient, key: string): Promise<string | undefined> {
  // One promise from the command to the caller: this is a Redis hit's whole store read.
  return client.get(key).then(unwrapValue);
}

/** The entry text in a stored Keyv wrapper (see readValue). */
export function unwrapValue(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  let data: { value?: unknown; expires?: unknown } | null;
  try {
    data = JSON.parse(raw) as typeof data;
  } catch {
    throw new CorruptStoredValue('the stored value is not valid JSON');
  }
  if (data === null || data === undefined) return undefined;
  if (typeof data.expires === 'number' && Date.now() > data.expires) return undefined;
  const value = data.value;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new CorruptStoredValue(`the store holds a ${typeof value}, not an entry`);
  return value;
}

/** Keyv's `set` through @keyv/redis: the same wrapper, PX for a TTL (none for undefined or 0), without the layers. */
export function writeValue(client: ValueClient, key: string, value: string, ttlMs: number | undefined): Promise<void> {
  const ttl = ttlMs === 0 ? undefined : ttlMs;
  const text = JSON.stringify({ value, expires: ttl === undefined ? undefined : Date.now() + ttl });
  return (ttl ? client.set(key, text, { PX: ttl }) : client.set(key, text)).then(ignore);
}

function ignore(): void {}
