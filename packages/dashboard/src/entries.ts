import type { EntryRow, Snapshot } from './snapshot.js';

export const ENTRY_SORTS = ['newest', 'oldest', 'largest', 'expiring', 'slowest', 'hits'] as const;
export type EntrySort = (typeof ENTRY_SORTS)[number];

export interface EntriesQuery {
  sort: EntrySort;
  namespace?: string | undefined;
  model?: string | undefined;
  kind?: string | undefined;
  /** Entries to skip (for the next page: the previous offset + limit). */
  offset: number;
  /** Entries per page, 1–500. */
  limit: number;
}

/** What `GET …/api/entries` answers: one page of one snapshot, so pages never shift under the reader. */
export interface EntriesPage {
  total: number;
  offset: number;
  limit: number;
  sort: EntrySort;
  /** The snapshot the page comes from (epoch ms): pages of one snapshot line up. */
  scannedAt: number;
  items: EntryItem[];
}

export interface EntryItem {
  key: string;
  digest: string;
  namespace: string;
  kind: string;
  provider: string;
  model: string;
  bytes: number;
  createdAt: number;
  expiresAt: number | null;
  expired: boolean;
  computeMs: number | null;
  /** Hits on this entry and the last one (epoch ms); null where the store keeps no per-entry hit counts. */
  hits: number | null;
  lastHitAt: number | null;
}

const ORDER: Record<EntrySort, (a: EntryRow, b: EntryRow) => number> = {
  newest: (a, b) => b.createdAt - a.createdAt,
  oldest: (a, b) => a.createdAt - b.createdAt,
  largest: (a, b) => b.bytes - a.bytes,
  // Entries that never expire last.
  expiring: (a, b) => (a.expiresAt ?? Number.POSITIVE_INFINITY) - (b.expiresAt ?? Number.POSITIVE_INFINITY),
  slowest: (a, b) => (b.computeMs ?? -1) - (a.computeMs ?? -1),
  hits: (a, b) => (b.hits ?? -1) - (a.hits ?? -1) || (b.lastHitAt ?? 0) - (a.lastHitAt ?? 0),
};

export function toItem(row: EntryRow): EntryItem {
  return {
    key: row.key,
    digest: row.digest,
    namespace: row.namespace,
    kind: row.kind,
    provider: row.provider,
    model: row.model,
    bytes: row.bytes,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    expired: row.expired,
    computeMs: row.computeMs ?? null,
    hits: row.hits ?? null,
    lastHitAt: row.lastHitAt ?? null,
  };
}

/** The most-hit entries, or null where the store keeps no per-entry hit counts. */
export function topEntries(rows: readonly EntryRow[], namespace: string | undefined, count = 10): EntryItem[] | null {
  const tracked = rows.filter(
    (row) => row.hits !== undefined && (namespace === undefined || row.namespace === namespace),
  );
  if (tracked.length === 0) return rows.some((row) => row.hits !== undefined) ? [] : null;
  return tracked
    .sort((a, b) => ORDER.hits(a, b) || (a.key < b.key ? -1 : 1))
    .slice(0, count)
    .map(toItem);
}

export function listEntries(snapshot: Snapshot, query: EntriesQuery): EntriesPage {
  const selected = snapshot.rows.filter(
    (row) =>
      (query.namespace === undefined || row.namespace === query.namespace) &&
      (query.model === undefined || row.model === query.model) &&
      (query.kind === undefined || row.kind === query.kind),
  );
  // Ties break on the key, so a page boundary is the same on every request.
  const order = ORDER[query.sort];
  selected.sort((a, b) => order(a, b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    total: selected.length,
    offset: query.offset,
    limit: query.limit,
    sort: query.sort,
    scannedAt: snapshot.takenAt,
    items: selected.slice(query.offset, query.offset + query.limit).map(toItem),
  };
}
