import { type HitRow, mergeHits } from '../hits.js';
import { parseKey } from '../key.js';
import { escapeLabel } from '../labels.js';
import { SERIES_RETENTION_MS } from '../series.js';
import { type NodeClient, scanHashes } from './redis-counters.js';

/** The commands per-entry hits use (node-redis names), on a single node or a cluster. */
export interface HitsClient {
  hmGet(key: string, fields: string[]): Promise<(string | null)[]>;
  unlink(keys: string | string[]): Promise<number>;
  multi(): {
    hIncrBy(key: string, field: string, increment: number): unknown;
    hSet(key: string, field: string, value: string): unknown;
    pExpire(key: string, ms: number): unknown;
    exec(): Promise<unknown>;
  };
}

/**
 * Per-entry hits in Redis: per namespace, one hash of counts (`…__hits__:<ns>`, HINCRBY: exact across processes)
 * and one of last-hit times (`…__hitat__:<ns>`, the flush's time; a racing flush may set a time a few seconds
 * older, which no listing can tell apart). Both expire a month after the namespace's last hit, so the hits of
 * entries Redis expired do not pile up. Neither name is an escaped label: no entry scan takes them.
 */
export const HITS_PREFIX = 'llmemo:v1:__hits__:';
export const HIT_AT_PREFIX = 'llmemo:v1:__hitat__:';
const KEEP_MS = SERIES_RETENTION_MS.hour;

function namespaceOf(key: string): string | undefined {
  return parseKey(key)?.namespace;
}

function byNamespace<T extends { key: string } | string>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const namespace = namespaceOf(typeof item === 'string' ? item : item.key);
    if (namespace === undefined) continue;
    const id = escapeLabel(namespace);
    groups.set(id, [...(groups.get(id) ?? []), item]);
  }
  return groups;
}

export async function addRedisHits(client: HitsClient, rows: readonly HitRow[]): Promise<void> {
  const merged = new Map<string, HitRow>();
  mergeHits(merged, rows);
  await Promise.all(
    [...byNamespace([...merged.values()])].map(([ns, group]) => {
      // Two hashes, two slots in a cluster: one transaction each.
      const counts = client.multi();
      const times = client.multi();
      for (const row of group) {
        counts.hIncrBy(`${HITS_PREFIX}${ns}`, row.key, row.hits);
        times.hSet(`${HIT_AT_PREFIX}${ns}`, row.key, String(row.lastHitAt));
      }
      counts.pExpire(`${HITS_PREFIX}${ns}`, KEEP_MS);
      times.pExpire(`${HIT_AT_PREFIX}${ns}`, KEEP_MS);
      return Promise.all([counts.exec(), times.exec()]);
    }),
  );
}

export async function readRedisHits(client: HitsClient, keys: readonly string[]): Promise<Map<string, HitRow>> {
  const found = new Map<string, HitRow>();
  for (const [ns, group] of byNamespace(keys)) {
    const [counts, times] = await Promise.all([
      client.hmGet(`${HITS_PREFIX}${ns}`, group),
      client.hmGet(`${HIT_AT_PREFIX}${ns}`, group),
    ]);
    group.forEach((key, i) => {
      const hits = Number(counts[i] ?? 0);
      if (hits > 0) found.set(key, { key, hits, lastHitAt: Number(times[i] ?? 0) });
    });
  }
  return found;
}

/** Deletes the hit hashes of one namespace, or of every namespace. */
export async function deleteRedisHits(client: HitsClient, masters: NodeClient[], namespace?: string): Promise<void> {
  const keys =
    namespace === undefined
      ? [...(await scanHashes(masters, HITS_PREFIX)), ...(await scanHashes(masters, HIT_AT_PREFIX))]
      : [`${HITS_PREFIX}${escapeLabel(namespace)}`, `${HIT_AT_PREFIX}${escapeLabel(namespace)}`];
  await Promise.all(keys.map((key) => client.unlink(key)));
}
