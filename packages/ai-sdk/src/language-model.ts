import {
  type CallOptions as CacheCallOptions,
  type CacheResult,
  type ComputeOptions,
  copyOf,
  type EntryMetadata,
  LlmemoError,
  type Lookup,
  type ResponseCache,
  resolveCallOptions,
  resolveStoreToolCalls,
  type ToolCallPolicy,
  withProperty,
} from '@llmemo/core';
import { cacheInfo, withCacheInfo } from './cache-info.js';
import { callerStream } from './caller-stream.js';
import {
  type ChatEntry,
  chatMetadata,
  ENTRY_FORMAT,
  entryToGenerate,
  entryToParts,
  foldStream,
  isChatEntry,
  type StoredGenerate,
  storeGenerate,
  storeVerdict,
} from './chat-entry.js';
import { chatRequest } from './chat-request.js';
import { endpointOf, resolveScope } from './endpoint.js';
import { checkOptionNames, requireCache, resolveReplay, resolveToolCallIds, splitCallOptions } from './options.js';
import { isAbortError } from './provider-errors.js';
import { type Recording, recordStream } from './record-stream.js';
import { replayStream } from './replay-stream.js';
import { type SharedStream, SharedStreams } from './shared-streams.js';
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

const OPTION_NAMES = ['cache', 'replay', 'toolCallIds', 'scope', 'storeToolCalls'] as const;

interface Call {
  cache: ResponseCache;
  model: LanguageModel;
  spec: SpecVersion;
  /** The params as the provider gets them (our per-call options removed). */
  params: CallOptions;
  options: CacheCallOptions;
  toolCallIds: 'positional' | 'exact';
  /** The middleware's `scope` option. */
  scope: string | undefined;
  /** The middleware's `storeToolCalls` option, validated. */
  tools: ToolCallPolicy;
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
  const providerMetadata = withCacheInfo(part.providerMetadata as ProviderMetadata | undefined, info);
  return withProperty(part, 'providerMetadata', providerMetadata) as StreamPart;
}

/**
 * A result whose response names no timestamp (Anthropic, Google) gets the call's start: the AI SDK would set the
 * time it read the result instead, and a hit would then report the time of the hit, not of the answer.
 */
function withTimestamp(result: GenerateResult, timestamp: Date): GenerateResult {
  if (result.response?.timestamp != null) return result;
  return withProperty(result, 'response', withProperty(result.response, 'timestamp', timestamp)) as GenerateResult;
}

/**
 * The params the provider call gets: an abortSignal that follows this caller's only while this caller waits for
 * the answer, so a background refresh it started (stale-while-revalidate) outlives it. `unlink` ends the link.
 */
function linkedAbort(params: CallOptions): { params: CallOptions; unlink: () => void } {
  const own = params.abortSignal;
  if (!own) return { params, unlink: () => {} };
  const link = new AbortController();
  const onAbort = () => link.abort(own.reason);
  if (own.aborted) onAbort();
  else own.addEventListener('abort', onAbort, { once: true });
  return {
    params: withProperty(params, 'abortSignal', link.signal) as CallOptions,
    unlink: () => own.removeEventListener('abort', onAbort),
  };
}

async function cachedGenerate(call: Call, retried = false): Promise<GenerateResult> {
  const { cache, model, spec, params } = call;
  const request = chatRequest(model, spec, params, call.toolCallIds, endpointOf(model, call.scope));
  // The leader's own provider result: returned whole (with response headers and bodies) while only what replay
  // needs is stored. Followers of a coalesced call, and hits, rebuild theirs from the stored entry.
  let fresh: GenerateResult | undefined;
  const linked = linkedAbort(params);
  let outcome: CacheResult<ChatEntry>;
  try {
    const options = copyOf(call.options) as ComputeOptions<ChatEntry>;
    options.cacheable = (entry) => storeVerdict(entryToGenerate(entry), params, call.tools);
    options.metadata = (entry) => chatMetadata(entryToGenerate(entry));
    outcome = await cache.getOrCompute<ChatEntry>(
      request,
      async () => {
        const timestamp = new Date();
        fresh = withTimestamp((await model.doGenerate(linked.params as never)) as GenerateResult, timestamp);
        return storeGenerate(fresh);
      },
      options,
    );
  } catch (error) {
    // A coalesced call fails with the leader's abort when the leader's caller gave up. This caller did not: it asks
    // again (once), and so leads a new call or joins another.
    if (!retried && isAbortError(error) && !params.abortSignal?.aborted) return cachedGenerate(call, true);
    throw error;
  } finally {
    linked.unlink();
  }
  const info = cacheInfo(outcome);
  if (fresh !== undefined) {
    return withProperty(fresh, 'providerMetadata', withCacheInfo(fresh.providerMetadata, info)) as GenerateResult;
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

/** A stored entry played back as a stream, its finish part carrying `providerMetadata.llmemo`. */
function replayEntry(entry: ChatEntry, info: CacheInfo, pacing: ReplayPacing): ReadableStream<StreamPart> {
  const { parts: stored, at } = entryToParts(entry);
  const parts = [...stored];
  const last = parts.length - 1;
  const finish = parts[last];
  if (finish?.type === 'finish') parts[last] = withFinishInfo(finish, info);
  return replayStream(parts, at, pacing);
}

/** The entry of a complete, cacheable recording; undefined without one, the reason when it may not be stored. */
function streamEntry(
  recording: Recording | undefined,
  call: Pick<Call, 'params' | 'tools'>,
): { value: ChatEntry; metadata: EntryMetadata } | string | undefined {
  if (!recording) return undefined;
  const folded = foldStream(recording.parts);
  const verdict = storeVerdict(folded, call.params, call.tools);
  if (verdict !== true) return verdict;
  return {
    value: { format: ENTRY_FORMAT, type: 'stream', parts: recording.parts, at: recording.at },
    metadata: chatMetadata(folded),
  };
}

/**
 * Stale-while-revalidate for streams: the background refresh streams the request again (without the caller's
 * abortSignal) and records it, so the refreshed entry replays token by token like the original, with its timing.
 */
function streamRefresh(call: Call): () => Promise<{ value: ChatEntry; metadata: EntryMetadata } | undefined> {
  return async () => {
    const params = { ...call.params, abortSignal: undefined } as CallOptions;
    const startedAt = performance.now();
    const timestamp = new Date();
    const result = (await call.model.doStream(params as never)) as StreamResult;
    let recording: Recording | undefined;
    const recorded = recordStream(result.stream as ReadableStream<StreamPart>, {
      startedAt,
      timestamp,
      finish: (part) => part,
      complete: (done) => {
        recording = done;
      },
    });
    const reader = recorded.getReader();
    while (!(await reader.read()).done) {
      // Drained: the recorder keeps what it needs.
    }
    const entry = streamEntry(recording, call);
    return typeof entry === 'string' ? undefined : entry;
  };
}

/** The cache was bypassed (mode 'off', an unkeyable request, a closed cache): straight to the provider. */
async function uncachedStream(call: Call): Promise<StreamResult> {
  const info = cacheInfo({ hit: false, age: 0 });
  const result = (await call.model.doStream(call.params as never)) as StreamResult;
  const stream = callerStream(result.stream as ReadableStream<StreamPart>, {
    finish: (part) => withFinishInfo(part, info),
  });
  return { ...result, stream } as StreamResult;
}

async function cachedStream(call: Call, pacing: ReplayPacing, shared: SharedStreams): Promise<StreamResult> {
  const { cache, model, spec, params } = call;
  const request = chatRequest(model, spec, params, call.toolCallIds, endpointOf(model, call.scope));
  const since = shared.mark();
  let lookup = await cache.lookup<ChatEntry>(request, withProperty(call.options, 'revalidate', streamRefresh(call)));
  if (lookup.hit) {
    if (isChatEntry(lookup.value)) {
      return { stream: replayEntry(lookup.value, cacheInfo(lookup), pacing) } as StreamResult;
    }
    if (call.options.mode === 'replay') throw unreadable(lookup.key);
    if (call.options.mode === 'read-only') return (await model.doStream(params as never)) as StreamResult;
    lookup = await cache.lookup<ChatEntry>(request, { ...call.options, mode: 'refresh' });
    if (lookup.hit) return (await model.doStream(params as never)) as StreamResult;
  }
  if (lookup.key === undefined) return uncachedStream(call);
  return sharedStream(call, lookup, since, pacing, shared);
}

/**
 * Ends the leader's lookup when the provider stream ended: commits a complete recording, skips one that must not be
 * stored, and releases it when there is nothing to store (a provider error, an abort, an incomplete recording).
 * Returns the write, during which the recording is replayed to callers whose read raced it (flush() waits too).
 */
function endLookup(
  lookup: Extract<Lookup<ChatEntry>, { hit: false }>,
  entry: ReturnType<typeof streamEntry> | undefined,
): Promise<unknown> | undefined {
  if (entry === undefined) lookup.release();
  else if (typeof entry === 'string') lookup.skip(entry);
  else return lookup.commit(entry.value, { metadata: entry.metadata }).catch(() => false);
  return undefined;
}

/**
 * A miss: joins the provider stream of identical calls in flight (or starts it), and commits the recording once
 * it ended complete. With stale-if-error, a provider failure before any content part reached the caller is
 * answered by the expired entry instead.
 */
async function sharedStream(
  call: Call,
  lookup: Extract<Lookup<ChatEntry>, { hit: false }>,
  since: number,
  pacing: ReplayPacing,
  shared: SharedStreams,
): Promise<StreamResult> {
  const { cache, model, params } = call;
  const key = lookup.key!;
  const stale = (error: unknown): ReadableStream<StreamPart> | undefined => {
    const found = lookup.fallback(error);
    if (!found || !isChatEntry(found.value)) return undefined;
    return replayEntry(found.value, { hit: true, stale: true, age: found.age, key }, pacing);
  };
  let recording: Recording | undefined;
  let joined: SharedStream;
  // Whether this caller's `open` ran: then the flight's end (onEnd) ends this lookup, whatever the outcome.
  let leads = false;
  try {
    // Raw chunks are not part of the key, but a caller that asked for them must not share a stream without them.
    joined = await shared.share(params.includeRawChunks ? `${key}\nraw` : key, since, {
      open: async (signal) => {
        leads = true;
        const startedAt = performance.now();
        const timestamp = new Date();
        const result = (await model.doStream({ ...params, abortSignal: signal } as never)) as StreamResult;
        const { stream, ...meta } = result;
        const recorded = recordStream(stream as ReadableStream<StreamPart>, {
          startedAt,
          timestamp,
          finish: (part) => part,
          complete: (done) => {
            recording = done;
          },
        });
        return { ...meta, stream: recorded } as StreamResult;
      },
      onEnd: (outcome) => endLookup(lookup, outcome.status === 'done' ? streamEntry(recording, call) : undefined),
      signal: params.abortSignal,
    });
  } catch (error) {
    // A follower (or a leader whose own signal fired before the provider answered) does not end the flight here.
    if (!leads) lookup.release();
    const replay = stale(error);
    if (replay) return { stream: replay } as StreamResult;
    throw error;
  }
  // A follower's answer is the leader's stream, stored (or not) by the leader's lookup: this one ends now.
  if (!joined.leader) lookup.release();
  const info = cacheInfo({ hit: false, age: 0, key, coalesced: !joined.leader });
  const staleIfError = resolveCallOptions(call.options, cache.defaults).staleIfError > 0;
  const stream = callerStream(joined.stream, {
    finish: (part) => withFinishInfo(part, info),
    fallback: staleIfError ? stale : undefined,
    signal: params.abortSignal,
    onLeave: joined.leave,
    produced: joined.produced,
  });
  return { ...joined.meta, stream } as StreamResult;
}

/**
 * Validates and removes the per-call options (first, so a bad one fails before anything else happens). A model of
 * a spec version this package does not know gets `spec: undefined` and goes to the provider uncached.
 */
function prepare(
  settings: Pick<Call, 'cache' | 'toolCallIds' | 'scope' | 'tools'>,
  options: { params: unknown; model: unknown },
): Omit<Call, 'spec'> & { spec: SpecVersion | undefined } {
  const model = options.model as LanguageModel;
  const { call, params } = splitCallOptions(options.params as CallOptions, settings.cache);
  // Listed, not spread: a spread with more properties after it costs microseconds per call (see core's object-copy.ts).
  return {
    cache: settings.cache,
    toolCallIds: settings.toolCallIds,
    scope: settings.scope,
    tools: settings.tools,
    model,
    spec: specVersionOf(model),
    params,
    options: call,
  };
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
  const scope = resolveScope(options.scope, 'cacheMiddleware');
  const tools = resolveStoreToolCalls(options.storeToolCalls, 'cacheMiddleware');
  const settings = { cache, toolCallIds, scope, tools };
  const shared = new SharedStreams(cache.timeoutMs);
  return {
    middlewareVersion: 'v2',
    specificationVersion: 'v3',
    async wrapGenerate(wrap) {
      const call = prepare(settings, wrap);
      if (call.spec === undefined) return call.model.doGenerate(call.params as never);
      return cachedGenerate(call as Call);
    },
    async wrapStream(wrap) {
      const call = prepare(settings, wrap);
      if (call.spec === undefined) return call.model.doStream(call.params as never);
      return cachedStream(call as Call, pacing, shared);
    },
  };
}
