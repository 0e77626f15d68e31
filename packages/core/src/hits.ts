/**
 * Per-entry hit tracking: how often each entry was served and when last. The hit path only bumps a number in a
 * buffer (`HitBuffer`); the stats flush sends the batch to the store (`CacheStore.addHits`), so a hit never costs
 * a store write of its own. Tools read it back per key (`readHits`): `entries()`, the dashboard's top entries,
 * `prune({ unusedSince })`.
 */
export interface HitRow {
  key: string;
  hits: number;
  /** Epoch ms of the latest hit. */
  lastHitAt: number;
}

import { KEY_PREFIX, keyPrefix } from './key.js';

/** The prefix of the hit records a purge of `namespace` (or of everything) removes with the counters. */
export function hitPrefix(namespace: string | undefined): string {
  return namespace === undefined ? KEY_PREFIX : keyPrefix({ namespace });
}

/** Adds a batch into a map of totals (hits add up, the latest time wins). */
export function mergeHits(target: Map<string, HitRow>, rows: Iterable<HitRow>): void {
  for (const row of rows) {
    const known = target.get(row.key);
    if (known) {
      known.hits += row.hits;
      known.lastHitAt = Math.max(known.lastHitAt, row.lastHitAt);
    } else {
      target.set(row.key, { ...row });
    }
  }
}

/** Hits counted since the last flush. */
export class HitBuffer {
  private rows = new Map<string, HitRow>();

  get empty(): boolean {
    return this.rows.size === 0;
  }

  add(key: string, at: number): void {
    const row = this.rows.get(key);
    if (row) {
      row.hits++;
      if (at > row.lastHitAt) row.lastHitAt = at;
    } else {
      this.rows.set(key, { key, hits: 1, lastHitAt: at });
    }
  }

  take(): HitRow[] {
    const rows = [...this.rows.values()];
    this.rows = new Map();
    return rows;
  }

  /** Puts back a batch the store refused, to be retried with the next flush. */
  restore(rows: readonly HitRow[]): void {
    mergeHits(this.rows, rows);
  }

  /** Drops the buffered hits of keys starting with `prefix` (a purge), so a flush cannot bring them back. */
  drop(prefix: string | undefined): void {
    if (prefix === undefined) this.rows.clear();
    else for (const key of this.rows.keys()) if (key.startsWith(prefix)) this.rows.delete(key);
  }
}

/** Hits kept in this process only: the fallback for stores that cannot share them (memory, bare Keyv). */
export class LocalHits {
  private readonly rows = new Map<string, HitRow>();

  add(rows: readonly HitRow[]): void {
    mergeHits(this.rows, rows);
  }

  read(keys: readonly string[]): Map<string, HitRow> {
    const found = new Map<string, HitRow>();
    for (const key of keys) {
      const row = this.rows.get(key);
      if (row) found.set(key, { ...row });
    }
    return found;
  }

  deletePrefix(prefix: string): void {
    for (const key of this.rows.keys()) if (key.startsWith(prefix)) this.rows.delete(key);
  }
}
