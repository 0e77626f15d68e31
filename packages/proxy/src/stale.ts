import type { CacheRequest } from '@llmemo/core';
import type { ProxyContext } from './context.js';
import type { Directives } from './directives.js';
import { PassThrough, UpstreamUnreachable } from './upstream.js';

/** An expired entry that may answer while the upstream fails. */
export interface StaleEntry<T> {
  value: T;
  age: number;
  key: string;
}

/** A failure worth hiding behind a stale answer: the upstream is down, timed out, overloaded or rate limiting. */
export function isUpstreamFailure(error: unknown): boolean {
  if (error instanceof UpstreamUnreachable) return true;
  return error instanceof PassThrough && (error.reply.status >= 500 || error.reply.status === 429);
}

/**
 * Stale-if-error for failures that escaped the cache's own handling (a stream whose upstream failed before the
 * first byte): look the entry up again and let core decide whether its expired copy may answer. Non-streamed calls
 * need none of this: `getOrCompute` serves the stale entry itself and says `stale`.
 */
export async function staleEntry<T>(
  context: ProxyContext,
  request: CacheRequest,
  directives: Directives,
  error: unknown,
): Promise<StaleEntry<T> | undefined> {
  if (directives.staleIfError === undefined || !isUpstreamFailure(error)) return undefined;
  const lookup = await context.cache.lookup<T>(request, directives);
  if (lookup.hit) return { value: lookup.value, age: lookup.age, key: lookup.key };
  const stale = lookup.fallback(error);
  return stale && lookup.key ? { ...stale, key: lookup.key } : undefined;
}
