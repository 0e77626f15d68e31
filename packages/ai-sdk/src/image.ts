import type { CacheRequest, ResponseCache } from '@llmemo/core';
import { cacheInfo, withCacheInfo } from './cache-info.js';
import { endpointOf, resolveScope } from './endpoint.js';
import { checkOptionNames, requireCache, resolveMaxImages, splitCallOptions } from './options.js';
import {
  type ImageModel,
  type ImageOptions,
  type ImageResult,
  type ProviderMetadata,
  type SpecVersion,
  specVersionOf,
} from './spec.js';
import type { CacheInfo, ImageCacheOptions, ImageModelCacheMiddleware } from './types.js';

const ENTRY_FORMAT = 1;

/** The images as the provider returned them (base64 strings or bytes), with what generateImage reports. */
interface ImageEntry {
  format: typeof ENTRY_FORMAT;
  images: string[] | Uint8Array[];
  warnings: unknown[];
  providerMetadata?: ProviderMetadata;
  response?: { timestamp?: Date; modelId?: string };
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number };
}

function isImageEntry(value: unknown): value is ImageEntry {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as ImageEntry).format === ENTRY_FORMAT &&
    Array.isArray((value as ImageEntry).images)
  );
}

function imageRequest(
  model: ImageModel,
  spec: SpecVersion,
  params: ImageOptions,
  endpoint: string | undefined,
): CacheRequest {
  const { prompt, files, mask, ...settings } = params as ImageOptions & Record<string, unknown>;
  const request: CacheRequest = {
    kind: 'image',
    provider: model.provider,
    model: model.modelId,
    specVersion: spec,
    input: { prompt, files, mask },
    params: settings,
  };
  if (endpoint !== undefined) request.endpoint = endpoint;
  return request;
}

function storeImages(result: ImageResult): ImageEntry {
  const entry: ImageEntry = { format: ENTRY_FORMAT, images: result.images, warnings: result.warnings };
  if (result.providerMetadata !== undefined) entry.providerMetadata = result.providerMetadata as ProviderMetadata;
  const response = result.response as { timestamp?: Date; modelId?: string } | undefined;
  if (response) entry.response = { timestamp: response.timestamp, modelId: response.modelId };
  const usage = (result as { usage?: ImageEntry['usage'] }).usage;
  if (usage !== undefined) entry.usage = usage;
  return entry;
}

/**
 * `providerMetadata.llmemo` on image results: the cache info, and again once per image in `images`.
 * generateImage keeps only each provider entry's `images` array (one item per image, concatenated across the calls
 * it split `n` into; it throws on an entry without one), so `result.providerMetadata.llmemo.images[i]` is where an
 * app finds whether image i came from the cache.
 */
function withImageInfo(
  providerMetadata: ProviderMetadata | undefined,
  info: CacheInfo,
  count: number,
): ProviderMetadata {
  return withCacheInfo(providerMetadata, { ...info, images: Array.from({ length: count }, () => info) });
}

/** What stats and metrics learn from an entry: its token usage and the model that answered. */
function entryMetadata(entry: ImageEntry): {
  usage?: { inputTokens?: number; outputTokens?: number };
  responseModel?: string;
} {
  const usage = entry.usage;
  const metadata: { usage?: { inputTokens?: number; outputTokens?: number }; responseModel?: string } = {};
  if (usage && (usage.inputTokens !== undefined || usage.outputTokens !== undefined)) {
    metadata.usage = {};
    if (usage.inputTokens !== undefined) metadata.usage.inputTokens = usage.inputTokens;
    if (usage.outputTokens !== undefined) metadata.usage.outputTokens = usage.outputTokens;
  }
  if (entry.response?.modelId !== undefined) metadata.responseModel = entry.response.modelId;
  return metadata;
}

/** A provider's own result, with the cache info attached. */
function annotated(result: ImageResult, info: CacheInfo): ImageResult {
  return {
    ...result,
    providerMetadata: withImageInfo(
      result.providerMetadata as ProviderMetadata | undefined,
      info,
      result.images.length,
    ),
  } as ImageResult;
}

/** A stored entry as generateImage expects a provider result. */
function fromEntry(entry: ImageEntry, info: CacheInfo, model: ImageModel): ImageResult {
  const result: Record<string, unknown> = {
    images: entry.images,
    warnings: entry.warnings,
    providerMetadata: withImageInfo(entry.providerMetadata, info, entry.images.length),
    response: {
      timestamp: entry.response?.timestamp ?? new Date(),
      modelId: entry.response?.modelId ?? model.modelId,
      headers: undefined,
    },
  };
  if (entry.usage !== undefined) result.usage = entry.usage;
  return result as unknown as ImageResult;
}

function keyOf(cache: ResponseCache, request: CacheRequest, namespace: string | undefined): string | undefined {
  try {
    return cache.key(request, namespace === undefined ? {} : { namespace });
  } catch {
    return undefined;
  }
}

async function cachedImages(
  cache: ResponseCache,
  scope: string | undefined,
  model: ImageModel,
  rawParams: ImageOptions,
  maxImages: number,
  inflight: Set<string>,
): Promise<ImageResult> {
  const { call, params } = splitCallOptions(rawParams, cache, { keepEmptyProviderOptions: true });
  const spec = specVersionOf(model);
  const generate = async () => (await model.doGenerate(params as never)) as ImageResult;
  const direct = async () => annotated(await generate(), cacheInfo({ hit: false, age: 0 }));
  if (spec === undefined || (params.n ?? 1) > maxImages) return direct();

  const request = imageRequest(model, spec, params, endpointOf(model, scope));
  const key = keyOf(cache, request, call.namespace);
  // generateImage splits `n` over several concurrent calls with identical params when the model makes fewer
  // images per call; answering them all from one entry would return n copies of one image. A call identical to
  // one in flight is such a sibling: it goes to the provider uncached, so the images stay distinct.
  if (key !== undefined && inflight.has(key)) return direct();
  if (key !== undefined) inflight.add(key);
  try {
    let fresh: ImageResult | undefined;
    const outcome = await cache.getOrCompute<ImageEntry>(
      request,
      async () => {
        fresh = await generate();
        return storeImages(fresh);
      },
      {
        ...call,
        cacheable: (entry) => (entry.images.length > 0 ? true : 'The model returned no images; nothing was cached.'),
        metadata: entryMetadata,
      },
    );
    const info = cacheInfo(outcome);
    if (fresh !== undefined) return annotated(fresh, info);
    const entry = outcome.value;
    return isImageEntry(entry) ? fromEntry(entry, info, model) : direct();
  } finally {
    if (key !== undefined) inflight.delete(key);
  }
}

const OPTION_NAMES = ['cache', 'maxImages', 'scope'] as const;

/**
 * The image middleware for ai@6 (6.0.12+) and ai@7: `wrapImageModel({ model, middleware: imageCacheMiddleware({ cache }) })`.
 * Requests for up to `maxImages` images per call (default 1) are cached; images come back exactly as the provider
 * sent them (bytes or base64), so their media types are detected the same.
 */
export function imageCacheMiddleware(options: ImageCacheOptions): ImageModelCacheMiddleware {
  checkOptionNames(options, OPTION_NAMES, 'imageCacheMiddleware');
  const cache = requireCache(options.cache, 'imageCacheMiddleware');
  const maxImages = resolveMaxImages(options.maxImages);
  const scope = resolveScope(options.scope, 'imageCacheMiddleware');
  const inflight = new Set<string>();
  return {
    specificationVersion: 'v3',
    wrapGenerate: ({ params, model }) =>
      cachedImages(cache, scope, model as ImageModel, params as ImageOptions, maxImages, inflight),
  };
}
