import { type Duration, parseDuration } from './duration.js';
import { LlmemoError } from './errors.js';
import type { ResolvedFilter } from './filter.js';
import { matchesKey } from './filter.js';
import { metaOf, readHitsOrFail, scanOrFail, storeFailure } from './maintenance.js';
import type { CacheStore } from './stores/store.js';

/** `prune({ unusedSince })`: entries no one has read for that long. */
export interface UnusedFilter {
  /** Entries whose last hit (or, never hit, whose write) is older than this: ms, or '90s', '15m', '1h', '30d'. */
  unusedSince: Duration;
}

/** The cutoff (epoch ms) of an `unusedSince` option; throws INVALID_OPTIONS for a bad duration. */
export function unusedCutoff(option: unknown, now = Date.now()): number {
  if (option === undefined || option === null) {
    throw new LlmemoError('INVALID_OPTIONS', "prune's unusedSince needs a duration such as '30d'.");
  }
  return now - parseDuration(option as Duration, 'unusedSince');
}

/**
 * Deletes the entries the filter selects that were last used before `cutoff`: last hit from the per-entry hit
 * records (see hits.ts), or the write time for an entry never hit. An entry re-written after its last hit counts
 * from the write. Resolves how many were deleted.
 */
export async function pruneUnused(store: CacheStore, filter: ResolvedFilter, cutoff: number): Promise<number> {
  const unused: string[] = [];
  for await (const batch of scanOrFail(store, filter.prefix, 'prune unused entries')) {
    const hits = await readHitsOrFail(store, batch);
    for (const entry of batch) {
      if (!matchesKey(filter, entry.key)) continue;
      const meta = metaOf(entry.key, entry.value);
      if (!meta) continue;
      const lastUsed = Math.max(meta.createdAt, hits.get(entry.key)?.lastHitAt ?? 0);
      if (lastUsed < cutoff) unused.push(entry.key);
    }
  }
  try {
    return await store.deleteKeys(unused);
  } catch (error) {
    throw storeFailure(store, error, 'prune unused entries');
  }
}
