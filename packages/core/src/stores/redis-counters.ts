import { COUNTER_FIELDS, type CounterField, type CounterRow, emptyCounters } from '../counters.js';
import { decodeLabel, escapeLabel } from '../labels.js';
import { SERIES_RETENTION_MS, type SeriesResolution, type SeriesRow, splitDeltas, UNIT_MS } from '../series.js';
import { BATCH_SIZE } from './store.js';

/** The commands the maintenance operations use, on a single node or one cluster master. */
export interface NodeClient {
  scanIterator(options: { MATCH: string; COUNT: number; TYPE?: string }): AsyncIterable<string[]>;
  mGet(keys: string[]): Promise<(string | null)[]>;
  get(key: string): Promise<string | null>;
  unlink(keys: string | string[]): Promise<number>;
  hGetAll(key: string): Promise<Record<string, string>>;
  hKeys(key: string): Promise<string[]>;
  hDel(key: string, fields: string[]): Promise<number>;
  hIncrBy(key: string, field: string, increment: number): Promise<number>;
  multi(): {
    hIncrBy(key: string, field: string, increment: number): unknown;
    pExpireAt(key: string, at: number): unknown;
    exec(): Promise<unknown>;
  };
}

/**
 * Where the counters of a namespace live: a hash, outside every entry prefix (`__stats__` is no escaped label).
 * Fixed at v1 on purpose: the counters' layout did not change when the key spec moved to v2, so counts recorded
 * before an upgrade stay visible.
 */
export const STATS_PREFIX = 'llmemo:v1:__stats__:';

/**
 * Where the time buckets live: one hash per bucket (`…__series__:minute:<epoch ms>`), a field per namespace,
 * model and counter, expiring with its retention. Entry scans read only string keys, so no hash is ever taken for
 * an entry, and `__series__` is no escaped label.
 */
export const SERIES_PREFIX = 'llmemo:v1:__series__:';

/** Escapes Redis glob characters, so a prefix matches only itself (our escaped labels contain none anyway). */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

function bucketKey(resolution: SeriesResolution, at: number): string {
  return `${SERIES_PREFIX}${resolution}:${at}`;
}

/** Adds deltas: totals with HINCRBY in one hash per namespace, buckets in one expiring hash per minute and hour. */
export async function addRedisCounters(client: NodeClient, rows: readonly CounterRow[]): Promise<void> {
  const { totals, buckets } = splitDeltas(rows);
  // One MULTI per hash: a cluster only runs a transaction within one slot. node-redis pipelines them.
  const byKey = new Map<string, { fields: [string, number][]; expireAt?: number }>();
  const add = (key: string, field: string, amount: number, expireAt?: number) => {
    if (amount === 0) return;
    let entry = byKey.get(key);
    if (!entry) {
      entry = expireAt === undefined ? { fields: [] } : { fields: [], expireAt };
      byKey.set(key, entry);
    }
    entry.fields.push([field, amount]);
  };
  for (const row of totals) {
    const key = `${STATS_PREFIX}${escapeLabel(row.namespace)}`;
    for (const field of COUNTER_FIELDS) add(key, `${escapeLabel(row.model)}|${field}`, row[field]);
  }
  for (const resolution of ['minute', 'hour'] as const) {
    for (const row of buckets[resolution]) {
      const expireAt = row.at + UNIT_MS[resolution] + SERIES_RETENTION_MS[resolution];
      const prefix = `${escapeLabel(row.namespace)}|${escapeLabel(row.model)}|`;
      for (const field of COUNTER_FIELDS) add(bucketKey(resolution, row.at), prefix + field, row[field], expireAt);
    }
  }
  await Promise.all(
    [...byKey].map(([key, { fields, expireAt }]) => {
      const multi = client.multi();
      for (const [field, amount] of fields) multi.hIncrBy(key, field, amount);
      if (expireAt !== undefined) multi.pExpireAt(key, expireAt);
      return multi.exec();
    }),
  );
}

export async function scanHashes(masters: NodeClient[], prefix: string): Promise<string[]> {
  const hashes = new Set<string>();
  for (const node of masters) {
    for await (const keys of node.scanIterator({ MATCH: `${globEscape(prefix)}*`, COUNT: BATCH_SIZE, TYPE: 'hash' })) {
      for (const key of keys) hashes.add(key);
    }
  }
  return [...hashes];
}

export async function readRedisCounters(
  client: NodeClient,
  masters: NodeClient[],
  namespace?: string,
): Promise<CounterRow[]> {
  const hashes =
    namespace !== undefined ? [`${STATS_PREFIX}${escapeLabel(namespace)}`] : await scanHashes(masters, STATS_PREFIX);
  const rows: CounterRow[] = [];
  for (const hash of hashes) {
    const ns = decodeLabel(hash.slice(STATS_PREFIX.length));
    // Not a hash we wrote (its name is no escaped label): not ours to report.
    if (ns === undefined) continue;
    const byModel = new Map<string, CounterRow>();
    for (const [field, value] of Object.entries(await client.hGetAll(hash))) {
      const bar = field.lastIndexOf('|');
      const counter = field.slice(bar + 1) as CounterField;
      if (bar < 0 || !COUNTER_FIELDS.includes(counter)) continue;
      const model = decodeLabel(field.slice(0, bar));
      if (model === undefined) continue;
      let row = byModel.get(model);
      if (!row) {
        row = emptyCounters(ns, model);
        byModel.set(model, row);
      }
      row[counter] = Number(value);
    }
    rows.push(...byModel.values());
  }
  return rows;
}

/** Reads every bucket of `[from, to)` (a day is 1,440 HGETALLs, pipelined in one round trip). */
export async function readRedisSeries(
  client: NodeClient,
  resolution: SeriesResolution,
  from: number,
  to: number,
  namespace?: string,
): Promise<SeriesRow[]> {
  const unit = UNIT_MS[resolution];
  const starts: number[] = [];
  for (let at = Math.ceil(from / unit) * unit; at < to; at += unit) starts.push(at);
  const hashes = await Promise.all(starts.map((at) => client.hGetAll(bucketKey(resolution, at))));
  const wanted = namespace === undefined ? undefined : `${escapeLabel(namespace)}|`;
  const rows: SeriesRow[] = [];
  for (const [index, hash] of hashes.entries()) {
    const at = starts[index]!;
    const byLabels = new Map<string, SeriesRow>();
    for (const [field, value] of Object.entries(hash)) {
      if (wanted !== undefined && !field.startsWith(wanted)) continue;
      const [ns, model, counter] = field.split('|') as [string, string, CounterField];
      if (model === undefined || !COUNTER_FIELDS.includes(counter)) continue;
      let row = byLabels.get(`${ns}|${model}`);
      if (!row) {
        const namespaceLabel = decodeLabel(ns);
        const modelLabel = decodeLabel(model);
        if (namespaceLabel === undefined || modelLabel === undefined) continue;
        row = { ...emptyCounters(namespaceLabel, modelLabel), at };
        byLabels.set(`${ns}|${model}`, row);
      }
      row[counter] = Number(value);
    }
    rows.push(...byLabels.values());
  }
  return rows;
}

/** Deletes totals and buckets of one namespace (its fields in every bucket), or every counter hash. */
export async function deleteRedisCounters(
  client: NodeClient,
  masters: NodeClient[],
  namespace?: string,
): Promise<void> {
  if (namespace === undefined) {
    for (const key of await scanHashes(masters, STATS_PREFIX)) await client.unlink(key);
    for (const key of await scanHashes(masters, SERIES_PREFIX)) await client.unlink(key);
    return;
  }
  await client.unlink(`${STATS_PREFIX}${escapeLabel(namespace)}`);
  const prefix = `${escapeLabel(namespace)}|`;
  await Promise.all(
    (await scanHashes(masters, SERIES_PREFIX)).map(async (key) => {
      const fields = (await client.hKeys(key)).filter((field) => field.startsWith(prefix));
      if (fields.length > 0) await client.hDel(key, fields);
    }),
  );
}
