import type { Keyring } from '../../src/encryption.js';
import { EntryCodec } from '../../src/entry-codec.js';
import type { ErrorEvent, SkipEvent, WriteEvent } from '../../src/events.js';
import { GuardedStore } from '../../src/guarded-store.js';
import { type DerivedKey, deriveKey } from '../../src/key.js';
import { resolveCacheOptions } from '../../src/options.js';
import { ReadPath } from '../../src/read-path.js';
import { Recorder } from '../../src/recorder.js';
import type { CacheRequest } from '../../src/request.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import type { CacheStore } from '../../src/stores/store.js';
import { WriteBehind } from '../../src/write-behind.js';

export const request = (text: string): CacheRequest => ({ kind: 'chat', provider: 'p', model: 'm', input: text });

/**
 * The read and write collaborators of a ResponseCache composed by hand over a memory store (or the given one),
 * with every event they send collected, for unit tests of one piece at a time.
 */
export function parts(
  options: { store?: CacheStore; keyring?: Keyring; maxEntryBytes?: number; staleIfError?: number } = {},
) {
  const config = resolveCacheOptions({ namespace: 'unit', staleIfError: options.staleIfError ?? 0 });
  const store = options.store ?? createMemoryStore();
  const recorder = new Recorder(undefined, undefined, undefined, undefined);
  const events = { errors: [] as ErrorEvent[], skips: [] as SkipEvent[], writes: [] as WriteEvent[] };
  recorder.events.on('error', (event) => events.errors.push(event));
  recorder.events.on('skip', (event) => events.skips.push(event));
  recorder.events.on('write', (event) => events.writes.push(event));
  const guarded = new GuardedStore(store, 1000, config.breaker, recorder);
  const codec = new EntryCodec(options.keyring, undefined);
  const writes = new WriteBehind(guarded, codec, recorder, options.maxEntryBytes ?? 1_000_000);
  let closed = false;
  const reads = new ReadPath({ ...config, closed: () => closed }, guarded, codec, recorder, writes);
  const derive = (req: CacheRequest): DerivedKey => deriveKey(req, 'unit', config.derivation);
  return {
    config,
    store,
    recorder,
    events,
    guarded,
    codec,
    writes,
    reads,
    derive,
    close: () => {
      closed = true;
    },
  };
}
