import type { JSONObject } from '@ai-sdk/provider';
import { withProperty } from '@llmemo/core';
import type { ProviderMetadata } from './spec.js';
import type { CacheInfo } from './types.js';

/** The `providerMetadata.llmemo` for an answer: from the cache (`hit`), or from the provider. */
export function cacheInfo(result: {
  hit: boolean;
  age: number;
  key?: string | undefined;
  coalesced?: boolean;
  stale?: boolean;
}): CacheInfo {
  const info: CacheInfo = { hit: result.hit, age: result.hit ? result.age : 0 };
  if (result.hit && result.stale) info.stale = true;
  if (result.key !== undefined) info.key = result.key;
  if (result.coalesced) info.coalesced = true;
  return info;
}

/** A copy of `providerMetadata` with `llmemo` set; the original object is never mutated. */
export function withCacheInfo(providerMetadata: ProviderMetadata | undefined, info: JSONObject): ProviderMetadata {
  return withProperty(providerMetadata, 'llmemo', info) as ProviderMetadata;
}
