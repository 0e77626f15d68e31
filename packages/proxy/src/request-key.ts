import type { CacheRequest } from '@llmemo/core';
import type { Json, ProxyContext } from './context.js';
import { type CredentialNames, isCredentialParam } from './credentials.js';

/**
 * Marks the proxy's entries apart from the AI SDK's and LangChain's, and versions the stored value shapes and what
 * the key covers. openai-http.2: the key covers the upstream endpoint, query and output-changing headers, and the
 * raw body as the upstream reads it.
 */
export const PROXY_SPEC_VERSION = 'openai-http.2';

/** Where a request goes and the headers that may change its answer: the same for every entry of one request. */
export interface KeyScope {
  /** Upstream origin, base path, request path and canonical query: `https://h/llama-8b/v1/chat/completions?x=1`. */
  endpoint: string;
  /** The request's non-credential headers; core keeps only its allowlist (anthropic-beta, openai-beta, …). */
  headers: Record<string, string>;
}

/**
 * The query in a canonical order (by name; values of one name keep their order, which the upstream may read), with
 * credential parameters left out: they choose the namespace, not the key.
 */
export function canonicalQuery(query: URLSearchParams, names: CredentialNames): string {
  const pairs: [string, string][] = [];
  for (const [name, value] of query) if (!isCredentialParam(name, names)) pairs.push([name, value]);
  if (pairs.length === 0) return '';
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;
}

/** The key scope of a request: `pathname` is the path the client used, `query` its parsed query string. */
export function keyScope(
  context: ProxyContext,
  pathname: string,
  query: URLSearchParams | undefined,
  headers: Record<string, string>,
  upstream = context.upstream,
): KeyScope {
  const { options } = context;
  const search = query ? canonicalQuery(query, options.credentials) : '';
  const keyHeaders: Record<string, string> = {};
  const credentialHeaders = options.credentials.headers;
  for (const [name, value] of Object.entries(headers)) {
    if (!credentialHeaders.includes(name)) keyHeaders[name] = value;
  }
  return { endpoint: `${upstream.origin}${upstream.path(pathname)}${search}`, headers: keyHeaders };
}

/**
 * The core request for one entry. The rest of the body goes in as `params.body`, nested: core's exclusions of SDK
 * options (`timeout`, `headers`, `api_key`, …) apply to top-level params names only, and a raw body field of that
 * name reaches the upstream, so it must split keys like any other.
 */
export function cacheRequest(
  context: ProxyContext,
  kind: string,
  model: string,
  input: unknown,
  body: Json,
  scope: KeyScope,
  provider = context.options.provider,
): CacheRequest {
  return {
    kind,
    provider,
    model,
    specVersion: PROXY_SPEC_VERSION,
    endpoint: scope.endpoint,
    input,
    params: { body, headers: scope.headers },
  };
}
