import type { Lookup, LookupOptions } from './cache-types.js';
import type { EntryMetadata } from './envelope.js';
import type { DerivedKey } from './key.js';
import type { Begun } from './read-path.js';
import type { Recorder } from './recorder.js';
import type { CacheRequest } from './request.js';
import type { Revalidations } from './revalidation.js';
import type { StoreBinding } from './store-binding.js';
import { timedMetadata } from './stored-stats.js';

/**
 * `cache.lookup()`: the two-phase read for values that arrive over time (streams). A hit answers now (and may start
 * a background refresh); a miss returns `commit` for the complete value and `fallback` for stale-if-error. The miss
 * holds the store it was read from (`on`) until it commits, so a stream that began before `useStore()` is written
 * where it was read.
 */
export async function lookupOn<T>(
  on: StoreBinding,
  refreshes: Revalidations,
  recorder: Recorder,
  request: CacheRequest,
  options: LookupOptions<T>,
  known?: DerivedKey,
): Promise<Lookup<T>> {
  on.enter();
  let started: Begun<T>;
  try {
    started = await on.reads.begin<T>(request, options, options.revalidate !== undefined, options.accept, known);
  } catch (error) {
    on.leave();
    throw error;
  }
  if (started.type !== 'miss') on.leave();
  if (started.type === 'hit') return hitLookup(on, refreshes, request, options, started);
  if (started.type === 'bypass') {
    return { hit: false, commit: async () => false, fallback: () => undefined, skip: noop, release: noop };
  }
  return missLookup(on, recorder, request, started);
}

/** A hit answers now; a stale one the caller can refresh starts its background refresh. */
function hitLookup<T>(
  on: StoreBinding,
  refreshes: Revalidations,
  request: CacheRequest,
  options: LookupOptions<T>,
  started: Extract<Begun<T>, { type: 'hit' }>,
): Lookup<T> {
  const pending = started.revalidate;
  const refresh = options.revalidate;
  if (pending && refresh) {
    refreshes.start(pending.derived.key, () =>
      on.during(async () => {
        const fresh = await refresh();
        if (fresh === undefined) return;
        const prepared = on.writes.prepare(pending.derived, request, fresh.value, pending.call, fresh.metadata);
        if (prepared) await on.writes.write(pending.derived, prepared, pending.call.ttl);
      }),
    );
  }
  const { value, age, stale, key } = started.result;
  return { hit: true, value, age, stale, key: key! };
}

function noop(): void {}

/**
 * A miss: commit, skip or release once, which releases the store it was read from; fallback serves stale-if-error
 * (from the entry read at the lookup, so it works after the lookup ended too).
 */
function missLookup<T>(
  on: StoreBinding,
  recorder: Recorder,
  request: CacheRequest,
  started: Extract<Begun<T>, { type: 'miss' }>,
): Lookup<T> {
  const { derived, call } = started;
  const lookedUpAt = performance.now();
  let committed = false;
  return {
    hit: false,
    key: derived.key,
    commit: async (value: T, commitOptions: { metadata?: EntryMetadata } = {}) => {
      if (committed) return false;
      committed = true;
      const metadata = timedMetadata(commitOptions.metadata, performance.now() - lookedUpAt);
      // The write is queued synchronously, so the store's retirement (which drains writes) waits for it.
      const written = on.writes.commit(derived, request, value, call, metadata);
      on.leave();
      return written;
    },
    skip: (reason: string) => {
      if (committed) return;
      committed = true;
      recorder.skip('NOT_CACHEABLE', reason, derived.key);
      on.leave();
    },
    release: () => {
      if (committed) return;
      committed = true;
      on.leave();
    },
    fallback: (error: unknown) => {
      const stale = on.reads.staleFallback(started, request, error);
      return stale ? { value: stale.value, age: stale.age } : undefined;
    },
  };
}
