import { type CallOptions as CacheCallOptions, LlmemoError, type ResponseCache } from '@llmemo/core';
import { cacheInfo, withCacheInfo } from './cache-info.js';
import {
  type ChatEntry,
  chatMetadata,
  chatVerdict,
  ENTRY_FORMAT,
  entryToGenerate,
  entryToParts,
  foldStream,
  isChatEntry,
  type StoredGenerate,
  storeGenerate,
} from './chat-entry.js';
import { chatRequest } from './chat-request.js';
import { checkOptionNames, requireCache, resolveReplay, resolveToolCallIds, splitCallOptions } from './options.js';
import { recordStream } from './record-stream.js';
import { replayStream } from './replay-stream.js';
import {
  type CallOptions,
  type GenerateResult,
  type LanguageModel,
  type ProviderMetadata,
  type SpecVersion,
  type StreamPart,
  type StreamResult,
  specVersionOf,
} from './spec.js';
import type { CacheInfo, CacheMiddlewareOptions, LanguageModelCacheMiddleware, ReplayPacing } from './types.js';

const OPTION_NAMES = ['cache', 'replay', 'toolCallIds'] as const;

interface Call {
  cache: ResponseCache;
  model: LanguageModel;
  spec: SpecVersion;
  /** The params as the provider gets them (our per-call options removed). */
  params: CallOptions;
  options: CacheCallOptions;
  toolCallIds: 'positional' | 'exact';
}

function generateResult(stored: StoredGenerate, info: CacheInfo): GenerateResult {
  const result: Record<string, unknown> = {
    content: stored.content,
    finishReason: stored.finishReason,
    usage: stored.usage,
    warnings: stored.warnings,
    providerMetadata: withCacheInfo(stored.providerMetadata, info),
  };
  if (stored.response !== undefined) result.response = { ...stored.response };
  if (stored.structuredOutputText !== undefined) result.structuredOutputText = stored.structuredOutputText;
  return result as unknown as GenerateResult;
}

function withFinishInfo(part: Extract<StreamPart, { type: 'finish' }>, info: CacheInfo): StreamPart {
  return {
    ...part,
    providerMetadata: withCacheInfo(part.providerMetadata as ProviderMetadata | undefined, info),
  } as StreamPart;
}

async function cachedGenerate(call: Call): Promise<GenerateResult> {
  const { cache, model, spec, params } = call;
  const request = chatRequest(model, spec, params, call.toolCallIds);
  // The leader's own provider result: returned whole (with response headers and bodies) while only what replay
  // needs is stored. Followers of a coalesced call, and hits, rebuild theirs from the stored entry.
  let fresh: GenerateResult | undefined;
  const outcome = await cache.getOrCompute<ChatEntry>(
    request,
    async () => {
      fresh = (await model.doGenerate(params as never)) as GenerateResult;
      return storeGenerate(fresh);
    },
    {
      ...call.options,
      cacheable: (entry) => chatVerdict(entryToGenerate(entry), params),
      metadata: (entry) => chatMetadata(entryToGenerate(entry)),
    },
  );
  const info = cacheInfo(outcome);
  if (fresh !== undefined) {
    return { ...fresh, providerMetadata: withCacheInfo(fresh.providerMetadata, info) } as GenerateResult;
  }
  if (!isChatEntry(outcome.value)) return refreshGenerate(call, outcome.key ?? '');
  return generateResult(entryToGenerate(outcome.value), info);
}

/** mode 'replay' never calls the provider, so an entry it cannot read is a miss like any other. */
function unreadable(key: string): LlmemoError {
  return new LlmemoError(
    'CACHE_MISS',
    `The entry under ${key} was written in a format this version of @llmemo/ai-sdk cannot read, and mode 'replay' never calls the provider. Record it again with mode 'refresh'.`,
  );
}

/**
 * An entry whose body this version cannot read (written by another version of this package under the same key) is
 * recomputed and overwritten; with mode 'read-only' it is recomputed only, with 'replay' it is a CACHE_MISS.
 */
async function refreshGenerate(call: Call, key: string): Promise<GenerateResult> {
  if (call.options.mode === 'replay') throw unreadable(key);
  if (call.options.mode === 'read-only') {
    return (await call.model.doGenerate(call.params as never)) as GenerateResult;
  }
  return cachedGenerate({ ...call, options: { ...call.options, mode: 'refresh' } });
}

async function cachedStream(call: Call, pacing: ReplayPacing): Promise<StreamResult> {
  const { cache, model, spec, params } = call;
  const request = chatRequest(model, spec, params, call.toolCallIds);
  let lookup = await cache.lookup<ChatEntry>(request, call.options);
  if (lookup.hit) {
    if (isChatEntry(lookup.value)) {
      const info = cacheInfo(lookup);
      const { parts, at } = entryToParts(lookup.value);
      const last = parts.length - 1;
      const finish = parts[last];
      if (finish?.type === 'finish') parts[last] = withFinishInfo(finish, info);
      return { stream: replayStream(parts, at, pacing) } as StreamResult;
    }
    if (call.options.mode === 'replay') throw unreadable(lookup.key);
    if (call.options.mode === 'read-only') return (await model.doStream(params as never)) as StreamResult;
    lookup = await cache.lookup<ChatEntry>(request, { ...call.options, mode: 'refresh' });
    if (lookup.hit) return (await model.doStream(params as never)) as StreamResult;
  }
  const { key, commit } = lookup;
  const info = cacheInfo({ hit: false, age: 0, key });
  const startedAt = performance.now();
  const result = (await model.doStream(params as never)) as StreamResult;
  const stream = recordStream(result.stream as ReadableStream<StreamPart>, {
    startedAt,
    finish: (part) => withFinishInfo(part, info),
    complete: ({ parts, at }) => {
      const folded = foldStream(parts);
      if (chatVerdict(folded, params) !== true) return;
      // Not awaited: the write runs off the caller's path (cache.flush() waits for it).
      commit({ format: ENTRY_FORMAT, type: 'stream', parts, at }, { metadata: chatMetadata(folded) }).catch(() => {});
    },
  });
  return { ...result, stream } as StreamResult;
}

/**
 * Validates and removes the per-call options (first, so a bad one fails before anything else happens). A model of
 * a spec version this package does not know gets `spec: undefined` and goes to the provider uncached.
 */
function prepare(
  cache: ResponseCache,
  toolCallIds: 'positional' | 'exact',
  options: { params: unknown; model: unknown },
): Omit<Call, 'spec'> & { spec: SpecVersion | undefined } {
  const model = options.model as LanguageModel;
  const { call, params } = splitCallOptions(options.params as CallOptions, cache);
  return { cache, model, spec: specVersionOf(model), params, options: call, toolCallIds };
}

/**
 * The AI SDK language-model middleware: `wrapLanguageModel({ model, middleware: cacheMiddleware({ cache }) })`.
 * One object serves ai@5 (V2 models), ai@6 (V3) and ai@7 (V4); each entry records the spec version it was written
 * under and is replayed only into the same one. `generateText` and `streamText` of the same request share an
 * entry: a stored stream answers `generateText` (folded), a stored generate result answers `streamText`.
 */
export function cacheMiddleware(options: CacheMiddlewareOptions): LanguageModelCacheMiddleware {
  checkOptionNames(options, OPTION_NAMES, 'cacheMiddleware');
  const cache = requireCache(options.cache, 'cacheMiddleware');
  const pacing = resolveReplay(options.replay);
  const toolCallIds = resolveToolCallIds(options.toolCallIds);
  return {
    middlewareVersion: 'v2',
    specificationVersion: 'v3',
    async wrapGenerate(wrap) {
      const call = prepare(cache, toolCallIds, wrap);
      if (call.spec === undefined) return call.model.doGenerate(call.params as never);
      return cachedGenerate(call as Call);
    },
    async wrapStream(wrap) {
      const call = prepare(cache, toolCallIds, wrap);
      if (call.spec === undefined) return call.model.doStream(call.params as never);
      return cachedStream(call as Call, pacing);
    },
  };
}
