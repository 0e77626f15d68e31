import { LlmemoError } from './errors.js';
import { canonicalRequestText, type DerivedKey, type KeyDerivation } from './key.js';
import type { CacheRequest } from './request.js';
import type { CacheStore } from './stores/store.js';

/** Longest request text a replay miss quotes (with `recordRequest`); the rest is cut. */
const QUOTED_REQUEST_CHARS = 2000;

/**
 * The CACHE_MISS of `mode: 'replay'`: which model, where the store looked (the file, for file://), and how to
 * record it. Never the prompt, unless the cache keeps requests anyway (`recordRequest`): the message may end up in
 * CI logs that more people read than the store.
 */
export function replayMiss(
  request: CacheRequest,
  derived: DerivedKey,
  store: CacheStore,
  recordRequest: { derivation: KeyDerivation } | undefined,
): LlmemoError {
  const where = store.locate?.(derived.key) ?? `key ${derived.key}`;
  let message =
    `No recorded ${String(request.kind)} answer for model '${String(request.model)}' (provider '${String(request.provider)}', namespace '${derived.namespace}'), and mode 'replay' never calls the provider. ` +
    `Looked for ${where}. To record it, run once with mode 'read-write' (unset LLMEMO_MODE) and a real provider, then commit what was written; ` +
    'if it was recorded, the request is not identical (model, parameters, messages or endpoint differ).';
  if (recordRequest) {
    const text = canonicalRequestText(request, recordRequest.derivation);
    const quoted = text.length > QUOTED_REQUEST_CHARS ? `${text.slice(0, QUOTED_REQUEST_CHARS)}…` : text;
    message += ` The request: ${quoted}`;
  }
  return new LlmemoError('CACHE_MISS', message);
}
