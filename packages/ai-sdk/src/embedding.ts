import type { CacheRequest, Lookup, ResponseCache } from '@llmemo/core';
import { withCacheInfo } from './cache-info.js';
import { endpointOf, resolveScope } from './endpoint.js';
import { checkOptionNames, requireCache, splitCallOptions } from './options.js';
import {
  type EmbeddingModel,
  type EmbedOptions,
  type EmbedResult,
  type ProviderMetadata,
  SPEC_VERSIONS,
} from './spec.js';
import type {
  EmbeddingCacheInfo,
  EmbeddingCacheOptions,
  EmbeddingModelCacheMiddleware,
  EmbeddingModelLike,
} from './types.js';

const ENTRY_FORMAT = 1;

interface EmbeddingEntry {
  format: typeof ENTRY_FORMAT;
  embedding: number[];
}

function isEmbeddingEntry(value: unknown): value is EmbeddingEntry {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as EmbeddingEntry).format === ENTRY_FORMAT &&
    Array.isArray((value as EmbeddingEntry).embedding)
  );
}

/**
 * One value's request. The spec version is left out of the key on purpose: a vector is the same whichever AI SDK
 * major asked for it, and embedding caches (RAG indexes) are the ones worth keeping across an SDK upgrade.
 */
function embeddingRequest(
  model: EmbeddingModel,
  value: unknown,
  settings: Record<string, unknown>,
  endpoint: string | undefined,
): CacheRequest {
  const request: CacheRequest = {
    kind: 'embedding',
    provider: model.provider,
    model: model.modelId,
    input: value,
    params: settings,
  };
  if (endpoint !== undefined) request.endpoint = endpoint;
  return request;
}

function size(value: unknown): number {
  return typeof value === 'string' ? value.length : JSON.stringify(value ?? null).length;
}

type Commit = Extract<Lookup<EmbeddingEntry>, { hit: false }>['commit'];

/** Which values the cache answered, and the distinct rest to send (identical values share one slot). */
interface Plan {
  embeddings: number[][];
  missing: unknown[];
  commits: (Commit | undefined)[];
  /** Value index to its slot in `missing`. */
  slotOf: Map<number, number>;
}

function plan(values: unknown[], lookups: Lookup<EmbeddingEntry>[]): Plan {
  const result: Plan = { embeddings: new Array(values.length), missing: [], commits: [], slotOf: new Map() };
  const slotByKey = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const lookup = lookups[i]!;
    if (lookup.hit && isEmbeddingEntry(lookup.value)) {
      result.embeddings[i] = lookup.value.embedding;
      continue;
    }
    let slot = lookup.key === undefined ? undefined : slotByKey.get(lookup.key);
    if (slot === undefined) {
      slot = result.missing.push(values[i]) - 1;
      result.commits[slot] = lookup.hit ? undefined : lookup.commit;
      if (lookup.key !== undefined) slotByKey.set(lookup.key, slot);
    }
    result.slotOf.set(i, slot);
  }
  return result;
}

function releaseAll(lookups: Lookup<EmbeddingEntry>[]): void {
  for (const lookup of lookups) if (!lookup.hit) lookup.release();
}

/** Stores each fresh embedding under its value's entry, off the caller's path. */
function commitFresh(embeddings: number[][], tokens: number | undefined, { missing, commits }: Plan): void {
  const totalSize = missing.reduce<number>((sum, value) => sum + size(value), 0) || 1;
  for (let slot = 0; slot < missing.length; slot++) {
    // Per-value tokens are the call's tokens shared by length: exact for one value, an estimate for several.
    const usage =
      typeof tokens === 'number' ? { inputTokens: Math.round((tokens * size(missing[slot])) / totalSize) } : undefined;
    commits[slot]?.({ format: ENTRY_FORMAT, embedding: embeddings[slot]! }, usage ? { metadata: { usage } } : {}).catch(
      () => {},
    );
  }
}

/**
 * Embeds `params.values` with one cache entry per value: the values found in the cache are not sent, the rest go
 * to the provider in one call (identical values once), and the embeddings come back in the original order.
 * `usage.tokens` is what this call was billed (0 when every value was cached).
 */
async function cachedEmbed(
  cache: ResponseCache,
  scope: string | undefined,
  model: EmbeddingModel,
  rawParams: EmbedOptions,
): Promise<EmbedResult> {
  const { call, params } = splitCallOptions(rawParams, cache);
  const { values, ...settings } = params as EmbedOptions & Record<string, unknown>;
  if (!(SPEC_VERSIONS as readonly unknown[]).includes(model.specificationVersion) || !Array.isArray(values)) {
    return model.doEmbed(params as never);
  }
  const endpoint = endpointOf(model, scope);
  const lookups = await Promise.all(
    values.map((value) => cache.lookup<EmbeddingEntry>(embeddingRequest(model, value, settings, endpoint), call)),
  );
  const planned = plan(values, lookups);
  const { embeddings, missing, slotOf } = planned;
  const hits = values.length - slotOf.size;
  const info: EmbeddingCacheInfo = { hit: missing.length === 0, hits, misses: slotOf.size };
  if (missing.length === 0) {
    return {
      embeddings,
      usage: { tokens: 0 },
      providerMetadata: withCacheInfo(undefined, info),
      warnings: [],
    } as EmbedResult;
  }

  let result: EmbedResult;
  try {
    result = (await model.doEmbed({ ...params, values: missing } as never)) as EmbedResult;
    if (Array.isArray(result.embeddings) && result.embeddings.length === missing.length) {
      commitFresh(result.embeddings, result.usage?.tokens, planned);
    }
  } finally {
    // The misses not committed (the provider threw or broke its contract, a value repeated in the batch) end here,
    // so useStore() need not wait for them. Commits above were issued synchronously, so this cannot undo one.
    releaseAll(lookups);
  }
  if (!Array.isArray(result.embeddings) || result.embeddings.length !== missing.length) {
    // The provider broke its contract (one embedding per value); nothing can be matched up, so nothing is cached.
    return hits === 0 ? result : ((await model.doEmbed(params as never)) as EmbedResult);
  }
  for (const [index, slot] of slotOf) embeddings[index] = result.embeddings[slot]!;
  return {
    ...result,
    embeddings,
    providerMetadata: withCacheInfo(result.providerMetadata as ProviderMetadata | undefined, info),
  } as EmbedResult;
}

const OPTION_NAMES = ['cache', 'scope'] as const;

/**
 * The embedding middleware for ai@6 and ai@7: `wrapEmbeddingModel({ model, middleware: embeddingCacheMiddleware({ cache }) })`.
 * ai@5 has no embedding middleware; use `cacheEmbeddingModel(model, { cache })` there.
 */
export function embeddingCacheMiddleware(options: EmbeddingCacheOptions): EmbeddingModelCacheMiddleware {
  checkOptionNames(options, OPTION_NAMES, 'embeddingCacheMiddleware');
  const cache = requireCache(options.cache, 'embeddingCacheMiddleware');
  const scope = resolveScope(options.scope, 'embeddingCacheMiddleware');
  return {
    specificationVersion: 'v3',
    wrapEmbed: ({ params, model }) => cachedEmbed(cache, scope, model as EmbeddingModel, params as EmbedOptions),
  };
}

/**
 * Wraps an embedding model so its calls go through the cache, for ai@5, which has no embedding middleware
 * (`embed({ model: cacheEmbeddingModel(openai.embedding('text-embedding-3-small'), { cache }), value })`).
 * It works with any spec version, but on ai@6/7 prefer `wrapEmbeddingModel` with `embeddingCacheMiddleware`,
 * which also carries the SDK's own extensions of the model.
 */
export function cacheEmbeddingModel<M extends EmbeddingModelLike>(model: M, options: EmbeddingCacheOptions): M {
  checkOptionNames(options, OPTION_NAMES, 'cacheEmbeddingModel');
  const cache = requireCache(options.cache, 'cacheEmbeddingModel');
  const scope = resolveScope(options.scope, 'cacheEmbeddingModel');
  const wrapped = {
    specificationVersion: model.specificationVersion,
    provider: model.provider,
    modelId: model.modelId,
    get maxEmbeddingsPerCall() {
      return model.maxEmbeddingsPerCall;
    },
    get supportsParallelCalls() {
      return model.supportsParallelCalls;
    },
    doEmbed: (params: EmbedOptions) => cachedEmbed(cache, scope, model as unknown as EmbeddingModel, params),
  };
  return wrapped as unknown as M;
}
