import { type CallOptions, LlmemoError, type ResponseCache, resolveCallOptions } from '@llmemo/core';
import type { ReplayPacing } from './types.js';

function invalid(message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', message);
}

/** Rejects unknown option names, so a typo (`replays`, `ttl` here instead of on the cache) fails loudly. */
export function checkOptionNames(options: unknown, allowed: readonly string[], factory: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${factory}(options) takes an options object: ${factory}({ cache }).`);
  }
  for (const name of Object.keys(options)) {
    if (!allowed.includes(name)) {
      const hint =
        name === 'ttl' || name === 'namespace' || name === 'mode' || name === 'store'
          ? ` Set '${name}' on createCache(), or per call in providerOptions.llmemo.`
          : '';
      throw invalid(
        `${factory} has no option '${name}'; the options are ${allowed.map((n) => `'${n}'`).join(', ')}.${hint}`,
      );
    }
  }
}

/**
 * Checks `cache` is a cache from `createCache()`. Duck-typed rather than `instanceof`: an app that loads
 * `@llmemo/core` both as ESM and CJS has two ResponseCache classes, and both work.
 */
export function requireCache(cache: unknown, factory: string): ResponseCache {
  const candidate = cache as Partial<ResponseCache> | undefined;
  if (
    !candidate ||
    typeof candidate.getOrCompute !== 'function' ||
    typeof candidate.lookup !== 'function' ||
    typeof candidate.defaults !== 'object'
  ) {
    throw invalid(
      `${factory} needs a cache: ${factory}({ cache: createCache({ store: 'sqlite://.llmemo/cache.sqlite' }) }) with createCache from @llmemo/core.`,
    );
  }
  return candidate as ResponseCache;
}

export function resolveReplay(value: unknown): ReplayPacing {
  if (value === undefined) return 'instant';
  if (value === 'instant' || value === 'recorded') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const delayMs = (value as { delayMs?: unknown }).delayMs;
    if (keys.length === 1 && typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0) {
      return { delayMs };
    }
  }
  throw invalid(
    `replay must be 'instant', 'recorded' or { delayMs: <milliseconds ≥ 0> }; got ${JSON.stringify(value)}.`,
  );
}

export function resolveToolCallIds(value: unknown): 'positional' | 'exact' {
  if (value === undefined) return 'positional';
  if (value === 'positional' || value === 'exact') return value;
  throw invalid(`toolCallIds must be 'positional' or 'exact'; got ${JSON.stringify(value)}.`);
}

export function resolveMaxImages(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return value;
  throw invalid(`maxImages must be a positive integer; got ${JSON.stringify(value)}.`);
}

/** Call params with our per-call options taken out of `providerOptions.llmemo`. */
export interface SplitParams<P> {
  /** The validated per-call options ({} when there were none). */
  call: CallOptions;
  /** The params to key and to send on: `providerOptions.llmemo` removed, and an emptied `providerOptions` too. */
  params: P;
}

const SOURCE = 'providerOptions.llmemo';

/**
 * Takes `providerOptions.llmemo` out of the params and validates it against the cache's defaults, before any
 * provider call: a bad option throws INVALID_OPTIONS instead of costing a request. The provider never sees it.
 * `keepEmptyProviderOptions` is for specs where `providerOptions` is required (images).
 */
export function splitCallOptions<P extends { providerOptions?: unknown }>(
  params: P,
  cache: ResponseCache,
  { keepEmptyProviderOptions = false } = {},
): SplitParams<P> {
  const providerOptions = params.providerOptions as Record<string, unknown> | undefined;
  if (!providerOptions || typeof providerOptions !== 'object' || !Object.hasOwn(providerOptions, 'llmemo')) {
    return { call: {}, params };
  }
  const { llmemo, ...rest } = providerOptions;
  resolveCallOptions(llmemo as CallOptions | undefined, cache.defaults, SOURCE);
  const call = (llmemo ?? {}) as CallOptions;
  const emptied = Object.keys(rest).length === 0 && !keepEmptyProviderOptions;
  // An emptied providerOptions becomes undefined, as if the caller had passed none: same key, same request.
  return { call, params: { ...params, providerOptions: emptied ? undefined : rest } };
}
