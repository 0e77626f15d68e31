import { CACHE_MODES, type CacheMode, type CallOptions } from '@llmemo/core';
import { BadRequest } from './errors.js';
import type { ResolvedEndpoint, ResolvedProxyOptions } from './options.js';
import type { HeaderSource } from './request.js';

/** What the client asked of the cache for this request, resolved into core call options. */
export interface Directives extends CallOptions {
  namespace: string;
  mode: CacheMode;
}

/** The directives before the tenant is known. */
export type RequestDirectives = Omit<Directives, 'namespace'>;

/** The directive names of a Cache-Control header, lower case. */
function cacheControlNames(headers: HeaderSource): string[] {
  const value = headers.get('cache-control');
  return value === null ? [] : value.split(',').map((part) => part.split('=', 1)[0]!.trim().toLowerCase());
}

/**
 * Whether the client asked to be answered from the cache only: `Cache-Control: only-if-cached` (RFC 9111 §5.2.1.7)
 * or `x-llmemo-mode: replay`. Such a request never goes upstream: a miss, and a request the cache cannot take
 * (no credential, an endpoint that does not cache, a body it cannot key), are a 504 instead. Reads only the
 * caller's own namespace, like any lookup: it cannot tell whether another tenant has the entry.
 */
export function onlyFromCache(headers: HeaderSource): boolean {
  return headers.get('x-llmemo-mode')?.trim() === 'replay' || cacheControlNames(headers).includes('only-if-cached');
}

/**
 * Reads `Cache-Control` (no-store: don't write; no-cache: fetch fresh and overwrite; max-age=N: this entry's ttl
 * in seconds; stale-if-error=N: serve an expired entry up to N seconds old when the upstream fails; only-if-cached:
 * mode 'replay') and `x-llmemo-mode` (any core mode; it wins over no-cache, never over only-if-cached).
 */
export function directivesOf(
  headers: HeaderSource,
  endpoint: ResolvedEndpoint,
  options: ResolvedProxyOptions,
): RequestDirectives {
  let mode: CacheMode = 'read-write';
  let noStore = false;
  let ttl: number | null | undefined = endpoint.ttl;
  let staleIfError = options.staleIfError;
  let onlyIfCached = false;
  const cacheControl = headers.get('cache-control');
  if (cacheControl) {
    for (const part of cacheControl.split(',')) {
      const [rawName, rawValue] = part.split('=', 2) as [string, string | undefined];
      const name = rawName.trim().toLowerCase();
      if (name === 'no-store') noStore = true;
      else if (name === 'only-if-cached') onlyIfCached = true;
      else if (name === 'no-cache') mode = 'refresh';
      else if (name === 'max-age') {
        const value = rawValue?.trim().replace(/^"(.*)"$/, '$1') ?? '';
        if (!/^\d{1,10}$/.test(value)) {
          throw new BadRequest(
            `Cache-Control max-age must be a whole number of seconds, like max-age=3600; got ${JSON.stringify(value)}.`,
            'invalid_cache_control',
          );
        }
        ttl = Number(value) * 1000;
      } else if (name === 'stale-if-error') {
        // RFC 5861: serve a stale entry this many seconds past expiry when the upstream fails.
        const value = rawValue?.trim().replace(/^"(.*)"$/, '$1') ?? '';
        if (!/^\d{1,10}$/.test(value)) {
          throw new BadRequest(
            `Cache-Control stale-if-error must be a whole number of seconds, like stale-if-error=600; got ${JSON.stringify(value)}.`,
            'invalid_cache_control',
          );
        }
        staleIfError = Number(value) * 1000;
      }
      // Other directives (private, must-revalidate, …) say nothing about an LLM response cache.
    }
  }
  const explicitMode = headers.get('x-llmemo-mode');
  if (explicitMode !== null) {
    const value = explicitMode.trim();
    if (!(CACHE_MODES as readonly string[]).includes(value)) {
      throw new BadRequest(
        `x-llmemo-mode must be one of ${CACHE_MODES.join(', ')}; got ${JSON.stringify(value)}.`,
        'invalid_llmemo_mode',
      );
    }
    mode = value as CacheMode;
  }
  // Never the upstream, whatever else the headers say.
  if (onlyIfCached) mode = 'replay';
  const directives: RequestDirectives = { mode, noStore };
  if (ttl !== undefined) directives.ttl = ttl;
  // Also passed on writes, so entries are kept past expiry for as long as they may be served stale.
  if (staleIfError !== undefined) directives.staleIfError = staleIfError;
  return directives;
}

/** True when this request neither reads nor writes the cache. */
export function bypasses(directives: RequestDirectives): boolean {
  return directives.mode === 'off' || (directives.mode === 'refresh' && directives.noStore === true);
}
