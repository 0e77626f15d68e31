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
 * The seam for `staleIfError` (coming): when the upstream fails, answer from an entry that expired less than
 * `staleIfError` ago, marked `X-Cache: STALE`. The chat handler already routes its failures here. It needs
 * @llmemo/core to keep entries past expiry and read them (the envelope's `staleUntil`, part of the resilience
 * work); until core can, this finds nothing and the failure passes through as it does without the option.
 */
export async function staleEntry<T>(
  context: ProxyContext,
  _request: CacheRequest,
  _directives: Directives,
  error: unknown,
): Promise<StaleEntry<T> | undefined> {
  if (context.options.staleIfError === undefined || !isUpstreamFailure(error)) return undefined;
  return undefined;
}
