// Public types. They are structural on purpose: an app has exactly one `ai` major (5, 6 or 7) and its matching
// `@ai-sdk/provider`, so these declarations name no version-specific type, and one middleware object is assignable
// to `LanguageModelMiddleware` in each of them (the compat suites type-check that against ai@5, ai@6 and ai@7).
import type { ResponseCache } from '@llmemo/core';

/**
 * How a cached stream is played back:
 * - `'instant'` (default): every part at once, no timers.
 * - `'recorded'`: with the original timing, time to first part included (captured when the stream was recorded;
 *   an entry stored from a `generateText` call has no timing and plays instantly).
 * - `{ delayMs }`: a fixed pause between parts, e.g. to demo a typing effect.
 */
export type ReplayPacing = 'instant' | 'recorded' | { delayMs: number };

export interface CacheMiddlewareOptions {
  /** The cache from `createCache()` in `@llmemo/core`: store, namespace, TTL and mode live there. */
  cache: ResponseCache;
  /** How stream hits are played back. Default `'instant'`. */
  replay?: ReplayPacing;
  /**
   * How tool-call ids in the prompt enter the key. `'positional'` (default) keys them by order of appearance
   * (`tc0`, `tc1`, …), so an agent loop whose earlier step was regenerated with fresh provider ids still hits;
   * `'exact'` keys the ids as sent.
   */
  toolCallIds?: 'positional' | 'exact';
  /**
   * Names where the model's requests go when the model does not show it, so two such models never share an entry:
   * a gateway or proxy behind a custom `fetch`, provider-level headers that route (an account or region), or a
   * model wrapped by another middleware before this one. The endpoint a provider model exposes (its base URL,
   * Azure resource and deployment, `api-version`) is keyed without it. Credentials never belong here.
   */
  scope?: string;
  /**
   * Whether answers that ask the app to run a tool are stored. `true` (default): like any answer. `false`: never.
   * A list of tool names: never when the answer calls one of them (the tools with side effects). A replayed answer
   * makes the app run its tools again (send the email again, charge the card again), so keep such answers out.
   * A `skip` event (NOT_CACHEABLE) names the reason; a stream with such a call is not committed.
   */
  storeToolCalls?: boolean | readonly string[];
}

export interface EmbeddingCacheOptions {
  cache: ResponseCache;
  /**
   * As for cacheMiddleware: names where the model's requests go when the model does not show it, so two such models never share an entry:
   * a gateway or proxy behind a custom `fetch`, provider-level headers that route (an account or region), or a
   * model wrapped by another middleware before this one. The endpoint a provider model exposes (its base URL,
   * Azure resource and deployment, `api-version`) is keyed without it. Credentials never belong here.
   */
  scope?: string;
}

export interface ImageCacheOptions {
  cache: ResponseCache;
  /** As for cacheMiddleware: names where the model's requests go when the model does not show it. */
  scope?: string;
  /**
   * The largest `n` (images per provider call) that is cached; larger requests go to the provider uncached.
   * Default 1: a cached `n = 1` answer is one image, while a request for several wants them to differ.
   */
  maxImages?: number;
}

/**
 * What `providerMetadata.llmemo` holds on a `generateText` result and on a stream's `finish` part:
 * `{ hit: true, age, key }` for an answer from the cache, `{ hit: false, age: 0, key }` for one from the provider.
 * `key` is absent when the cache was bypassed (mode 'off', an unkeyable request); `coalesced: true` marks a call
 * that shared an identical in-flight call's provider response; `stale: true` marks an expired entry served by
 * stale-while-revalidate or stale-if-error.
 */
export type CacheInfo = {
  hit: boolean;
  /** True when the answer is an expired entry served within a stale window. */
  stale?: boolean;
  /** Milliseconds since the entry was written (0 on a miss). */
  age: number;
  /** The stored key (namespace, kind, provider, model and a SHA-256 digest of the request; never prompt text). */
  key?: string;
  coalesced?: boolean;
};

/** `providerMetadata.llmemo` on embedding results: how many values came from the cache. */
export type EmbeddingCacheInfo = {
  /** True when every value came from the cache (the provider was not called). */
  hit: boolean;
  hits: number;
  misses: number;
};

/** The identity every AI SDK model spec shares. */
export interface ModelIdentity {
  readonly specificationVersion: string;
  readonly provider: string;
  readonly modelId: string;
}

// The hook results are typed `any` because their shape is the result type of the app's AI SDK major; the
// parameters are typed wide (`unknown`) so every major's call passes.
export interface LanguageModelCacheMiddleware {
  /** ai@5 reads `middlewareVersion`; ai@6 requires `specificationVersion: 'v3'`; ai@7 accepts any string. */
  readonly middlewareVersion: 'v2';
  readonly specificationVersion: 'v3';
  wrapGenerate: (options: {
    doGenerate: () => PromiseLike<unknown>;
    doStream: () => PromiseLike<unknown>;
    params: unknown;
    model: ModelIdentity;
    // biome-ignore lint/suspicious/noExplicitAny: the result type is the app's AI SDK major's (see above).
  }) => Promise<any>;
  wrapStream: (options: {
    doGenerate: () => PromiseLike<unknown>;
    doStream: () => PromiseLike<unknown>;
    params: unknown;
    model: ModelIdentity;
    // biome-ignore lint/suspicious/noExplicitAny: the result type is the app's AI SDK major's (see above).
  }) => Promise<any>;
}

export interface EmbeddingModelCacheMiddleware {
  readonly specificationVersion: 'v3';
  wrapEmbed: (options: {
    doEmbed: () => PromiseLike<unknown>;
    params: unknown;
    model: ModelIdentity;
    // biome-ignore lint/suspicious/noExplicitAny: the result type is the app's AI SDK major's (see above).
  }) => Promise<any>;
}

export interface ImageModelCacheMiddleware {
  readonly specificationVersion: 'v3';
  wrapGenerate: (options: {
    doGenerate: () => PromiseLike<unknown>;
    params: unknown;
    model: ModelIdentity;
    // biome-ignore lint/suspicious/noExplicitAny: the result type is the app's AI SDK major's (see above).
  }) => Promise<any>;
}

/** The members of an embedding model that `cacheEmbeddingModel` wraps (any spec version). */
export interface EmbeddingModelLike extends ModelIdentity {
  readonly maxEmbeddingsPerCall: unknown;
  readonly supportsParallelCalls: unknown;
  // biome-ignore lint/suspicious/noExplicitAny: each spec version has its own call options and result.
  doEmbed(options: any): PromiseLike<any>;
}
