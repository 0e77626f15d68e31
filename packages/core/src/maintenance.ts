import type { InspectedEntry } from './cache-types.js';
import { decode } from './codec.js';
import { type EntryCodec, readEntryMeta, type StoredEntryInfo } from './entry-codec.js';
import { computeDuration, type TokenUsage } from './envelope.js';
import { describeError, LlmemoError, toLlmemoError } from './errors.js';
import { matchesKey, matchesMeta, type ResolvedFilter } from './filter.js';
import { parseKey } from './key.js';
import type { CacheStore, HitRow, ScannedEntry } from './stores/store.js';

/** What listings show of an entry: its labels and metadata, never its body. Readable without the encryption key. */
export interface EntryInfo {
  key: string;
  namespace: string;
  kind: string;
  provider: string;
  model: string;
  digest: string;
  createdAt: Date;
  expiresAt: Date | null;
  expired: boolean;
  /** Size of the stored text. */
  bytes: number;
  usage?: TokenUsage;
  /** How long the original call took (ms); a hit saves that much waiting. Absent on entries written before 0.2. */
  computeMs?: number;
  responseModel?: string;
  specVersion?: string;
  encrypted: boolean;
  /** The key id the body is encrypted with. */
  keyId?: string;
  compressed: 'gzip' | 'brotli' | null;
  /**
   * How often the entry was served, and when last (with `persistStats`, counted in memory and flushed in batches;
   * in this process only on memory:// and bare Keyv stores). Absent for an entry never hit since tracking began.
   */
  hits?: number;
  lastHitAt?: Date;
  /** The canonical request the entry answers, on entries written with `recordRequest`. */
  request?: unknown;
}

/** One line of an export: the stored text as is (encrypted bodies stay encrypted). */
export interface ExportRecord {
  key: string;
  value: string;
  /** Epoch ms; null = never expires. */
  expiresAt: number | null;
}

export interface ImportResult {
  imported: number;
  /** Already expired: not written. */
  expired: number;
  /** Not llmemo entries (wrong key format, or a value that is not an envelope for that key). */
  invalid: number;
}

/** Admin operations are explicit: unlike lookups they throw, so a failed erasure is never silent. */
export function storeFailure(store: CacheStore, error: unknown, operation: string): LlmemoError {
  if (error instanceof LlmemoError) return error;
  return new LlmemoError(
    'STORE_UNAVAILABLE',
    `The ${store.type} store failed to ${operation}: ${describeError(error)}. Check that it is reachable, then retry.`,
    { cause: error },
  );
}

export function toEntryInfo(meta: StoredEntryInfo, now = Date.now()): EntryInfo {
  const labels = parseKey(meta.key)!;
  const info: EntryInfo = {
    key: meta.key,
    namespace: labels.namespace,
    kind: labels.kind,
    provider: labels.provider,
    model: labels.model,
    digest: labels.digest,
    createdAt: new Date(meta.createdAt),
    expiresAt: meta.expiresAt === null ? null : new Date(meta.expiresAt),
    expired: meta.expiresAt !== null && meta.expiresAt <= now,
    bytes: meta.bytes,
    encrypted: meta.encrypted,
    compressed: meta.compressed,
  };
  if (meta.usage) info.usage = meta.usage;
  const computeMs = computeDuration(meta.computeMs);
  if (computeMs !== undefined) info.computeMs = computeMs;
  if (meta.responseModel !== undefined) info.responseModel = meta.responseModel;
  if (meta.specVersion !== undefined) info.specVersion = meta.specVersion;
  if (meta.enc?.k !== undefined) info.keyId = meta.enc.k;
  if (meta.request !== undefined) info.request = meta.request;
  return info;
}

export function metaOf(key: string, value: string): StoredEntryInfo | undefined {
  try {
    return readEntryMeta(key, value);
  } catch {
    return undefined;
  }
}

/**
 * Deletes what the filter selects. Label-only filters are exact prefix deletes in the backend; label filters the
 * prefix cannot carry are checked on each key; value filters (olderThan, responseModel) read each entry's metadata
 * under the prefix. A whole-scope purge also deletes the scope's shared counters (they name the namespace).
 */
export async function purgeEntries(store: CacheStore, filter: ResolvedFilter): Promise<number> {
  try {
    await store.ready();
    let deleted = 0;
    const labelsInPrefix = Object.keys(filter.labels).length === 0;
    if (!filter.needsValues && labelsInPrefix) {
      deleted = await store.deletePrefix(filter.prefix);
    } else {
      const later: string[] = [];
      const handle = async (keys: string[]) => {
        if (keys.length === 0) return;
        if (store.deleteWhileScanning) deleted += await store.deleteKeys(keys);
        else later.push(...keys);
      };
      if (filter.needsValues) {
        for await (const batch of store.scan(filter.prefix)) {
          await handle(
            batch
              .filter((entry) => matchesKey(filter, entry.key))
              .filter((entry) => {
                const meta = metaOf(entry.key, entry.value);
                return meta !== undefined && matchesMeta(filter, meta);
              })
              .map((entry) => entry.key),
          );
        }
      } else {
        for await (const keys of store.scanKeys(filter.prefix)) {
          await handle(keys.filter((key) => matchesKey(filter, key)));
        }
      }
      deleted += await store.deleteKeys(later);
    }
    if (filter.wholeScope) await store.deleteCounters(filter.namespace);
    await (store as { checkpoint?: () => Promise<void> }).checkpoint?.();
    return deleted;
  } catch (error) {
    throw storeFailure(store, error, 'purge');
  }
}

/**
 * The store's scan with its failures (connecting included) turned into STORE_UNAVAILABLE errors, and without the
 * caller's own errors (a consumer that throws mid-iteration) being mistaken for store failures.
 */
export async function* scanOrFail(store: CacheStore, prefix: string, operation: string): AsyncIterable<ScannedEntry[]> {
  let iterator: AsyncIterator<ScannedEntry[]>;
  try {
    await store.ready();
    iterator = store.scan(prefix)[Symbol.asyncIterator]();
  } catch (error) {
    throw storeFailure(store, error, operation);
  }
  for (;;) {
    let next: IteratorResult<ScannedEntry[]>;
    try {
      next = await iterator.next();
    } catch (error) {
      throw storeFailure(store, error, operation);
    }
    if (next.done) return;
    yield next.value;
  }
}

/** The hit records of a scanned batch, store failures as STORE_UNAVAILABLE. */
export async function readHitsOrFail(store: CacheStore, batch: readonly ScannedEntry[]): Promise<Map<string, HitRow>> {
  try {
    return await store.readHits(batch.map((entry) => entry.key));
  } catch (error) {
    throw storeFailure(store, error, 'read hit counts');
  }
}

/** The entries the filter selects, with their metadata (expired ones only when asked). */
export async function* listEntries(
  store: CacheStore,
  filter: ResolvedFilter,
  options: { includeExpired?: boolean } = {},
): AsyncIterable<EntryInfo> {
  for await (const batch of scanOrFail(store, filter.prefix, 'list entries')) {
    const now = Date.now();
    const hits = await readHitsOrFail(store, batch);
    for (const entry of batch) {
      if (!matchesKey(filter, entry.key)) continue;
      const meta = metaOf(entry.key, entry.value);
      if (!meta || !matchesMeta(filter, meta)) continue;
      const info = toEntryInfo(meta, now);
      info.expired = info.expired || (entry.expires !== undefined && entry.expires <= now);
      if (info.expired && !options.includeExpired) continue;
      const hit = hits.get(entry.key);
      if (hit) {
        info.hits = hit.hits;
        info.lastHitAt = new Date(hit.lastHitAt);
      }
      yield info;
    }
  }
}

/** Stored records (as is) for the entries the filter selects, skipping expired ones. */
export async function* exportRecords(store: CacheStore, filter: ResolvedFilter): AsyncIterable<ExportRecord> {
  for await (const batch of scanOrFail(store, filter.prefix, 'export')) {
    const now = Date.now();
    for (const entry of batch) {
      if (!matchesKey(filter, entry.key)) continue;
      const meta = metaOf(entry.key, entry.value);
      if (!meta || !matchesMeta(filter, meta)) continue;
      const expired =
        (meta.expiresAt !== null && meta.expiresAt <= now) || (entry.expires !== undefined && entry.expires <= now);
      if (!expired) yield { key: entry.key, value: entry.value, expiresAt: meta.expiresAt };
    }
  }
}

/** Writes exported records as they are, with their remaining time to live. */
export async function importRecords(
  store: CacheStore,
  records: AsyncIterable<ExportRecord> | Iterable<ExportRecord>,
  onRecord?: (result: 'imported' | 'expired' | 'invalid') => void,
): Promise<ImportResult> {
  const result: ImportResult = { imported: 0, expired: 0, invalid: 0 };
  try {
    await store.ready();
  } catch (error) {
    throw storeFailure(store, error, 'connect');
  }
  const count = (outcome: keyof ImportResult) => {
    result[outcome]++;
    onRecord?.(outcome);
  };
  for await (const record of records) {
    if (!record || typeof record.key !== 'string' || typeof record.value !== 'string') {
      count('invalid');
      continue;
    }
    const meta = metaOf(record.key, record.value);
    if (!meta) {
      count('invalid');
      continue;
    }
    const ttl = meta.expiresAt === null ? undefined : meta.expiresAt - Date.now();
    if (ttl !== undefined && ttl <= 0) {
      count('expired');
      continue;
    }
    try {
      await store.set(record.key, record.value, ttl);
    } catch (error) {
      throw storeFailure(store, error, 'import');
    }
    count('imported');
  }
  return result;
}

/**
 * Deletes expired entries (and, on a bounded SQLite store, evicts down to its bounds); resolves how many expired
 * entries were deleted.
 */
export async function pruneStore(store: CacheStore): Promise<number> {
  try {
    await store.ready();
    return await store.prune();
  } catch (error) {
    throw storeFailure(store, error, 'prune');
  }
}

/** One stored entry by its key: metadata, and the value when `codec` can open it. Undefined when absent. */
export async function inspectEntry(
  store: CacheStore,
  codec: EntryCodec,
  key: string,
): Promise<InspectedEntry | undefined> {
  let found: ScannedEntry | undefined;
  try {
    await store.ready();
    // A peek, not a get: a get through Keyv deletes an expired entry, and inspecting must not change the store.
    found = await store.peek(key);
  } catch (error) {
    throw storeFailure(store, error, 'read the entry');
  }
  if (!found) return undefined;
  const meta = readEntryMeta(key, found.value);
  const result: InspectedEntry = { info: toEntryInfo(meta) };
  const hit = (await readHitsOrFail(store, [found])).get(key);
  if (hit) {
    result.info.hits = hit.hits;
    result.info.lastHitAt = new Date(hit.lastHitAt);
  }
  try {
    result.value =
      meta.enc === undefined
        ? decode(JSON.stringify(meta.rawBody))
        : decode(codec.open(meta, meta.rawBody as string, key).body);
  } catch (error) {
    result.error = toLlmemoError(error, 'CORRUPT_ENTRY', 'The entry body could not be decoded');
  }
  return result;
}

/**
 * Calls `tick(target)` every `everyMs` on an unref'd timer. Through a WeakRef: a cache the app dropped without
 * close() can still be collected (and then its timer ends). `tick` must not hold the target itself.
 */
export function everyWhileAlive<T extends object>(
  target: T,
  everyMs: number,
  tick: (target: T) => void,
): ReturnType<typeof setInterval> {
  const ref = new WeakRef(target);
  const timer = setInterval(() => {
    const alive = ref.deref();
    if (alive) tick(alive);
    else clearInterval(timer);
  }, everyMs);
  timer.unref?.();
  return timer;
}
