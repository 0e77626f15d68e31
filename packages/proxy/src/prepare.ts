import type { Answer } from './answer.js';
import { readBody } from './body.js';
import type { ProxyContext } from './context.js';
import { bypasses, type Directives, directivesOf, onlyFromCache } from './directives.js';
import { errorAnswer } from './errors.js';
import { forward } from './forward.js';
import type { EndpointLabel } from './metrics.js';
import type { ResolvedEndpoint } from './options.js';
import type { ProxyRequest } from './request.js';
import { type KeyScope, keyScope } from './request-key.js';
import { tenancyOf } from './tenancy.js';
import { requestHeaders, type Upstream } from './upstream.js';

/** Never forwarded on cached endpoints: our directive, and compression (the proxy reads and stores the body). */
export const DROPPED_REQUEST_HEADERS = ['cache-control', 'accept-encoding', 'content-length'];

/** What a cached endpoint's handler starts from: the request as it goes upstream. */
export interface Incoming {
  /** Path and query as the client sent them (forwarded as is). */
  path: string;
  pathname: string;
  query: URLSearchParams | undefined;
  /** The headers for the upstream. */
  headers: Record<string, string>;
}

export function incomingOf(request: ProxyRequest): Incoming {
  const { path } = request;
  const mark = path.indexOf('?');
  return {
    path,
    pathname: mark < 0 ? path : path.slice(0, mark),
    query: mark < 0 ? undefined : new URLSearchParams(path.slice(mark + 1)),
    headers: requestHeaders(request.headers, DROPPED_REQUEST_HEADERS),
  };
}

export function readRequestBody(request: ProxyRequest, context: ProxyContext): Promise<Uint8Array> {
  const { maxBodyBytes, bodyTimeoutMs } = context.options;
  return readBody(request, { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs, budget: context.budget });
}

/** A request the cache may answer: its directives (with the tenant's namespace) and its key scope. */
export interface Plan {
  directives: Directives;
  scope: KeyScope;
  bypass?: undefined;
}

/**
 * Resolves the directives and the tenant. Returns why the request goes upstream uncached instead (mode off, no
 * credential, …); throws BadRequest for a bad header.
 */
export async function plan(
  context: ProxyContext,
  request: ProxyRequest,
  endpoint: ResolvedEndpoint,
  incoming: Incoming,
  upstream: Upstream = context.upstream,
): Promise<Plan | { bypass: string }> {
  const { headers } = request;
  const requested = directivesOf(headers, endpoint, context.options);
  if (bypasses(requested)) return { bypass: 'requested' };
  const tenancy = await tenancyOf(headers, incoming.query, context.options, context.secret);
  if (tenancy.bypass !== undefined) return { bypass: tenancy.bypass };
  if (request.record) request.record.namespace = tenancy.namespace;
  const directives: Directives = { ...requested, namespace: tenancy.namespace };
  return { directives, scope: keyScope(context, incoming.pathname, incoming.query, incoming.headers, upstream) };
}

/**
 * Counts a request that goes upstream without the cache as core's one bypass (mode 'off' touches no store), so
 * every answer of a cached endpoint moves exactly one of hit, stale, miss or bypass.
 */
export function countBypass(context: ProxyContext, label: EndpointLabel, model: unknown): void {
  const request = {
    kind: KINDS[label],
    provider: context.options.provider,
    model: typeof model === 'string' ? model : '',
    input: null,
  };
  void context.cache.lookup(request, { mode: 'off' }).catch(() => {});
}

/** The core kind each endpoint's entries are stored under. */
export const KINDS: Record<EndpointLabel, string> = {
  chat: 'chat',
  messages: 'message',
  embeddings: 'embedding',
  images: 'image',
  models: 'models',
  other: 'other',
};

/** The answer to an only-if-cached request the cache cannot take: a 504, and nothing sent upstream. */
export function notFromCache(reason: string): Answer {
  return errorAnswer(
    504,
    `llmemo-proxy was asked to answer from the cache only (Cache-Control: only-if-cached or x-llmemo-mode: replay), and this request cannot be cached (${reason}), so nothing was sent upstream.`,
    { type: 'cache_miss', code: 'cache_miss', headers: { 'x-cache': 'BYPASS', 'x-llmemo-bypass': reason } },
  );
}

/** Sends a cached endpoint's request upstream uncached, says why in `x-llmemo-bypass`, and counts it once. */
export function bypassed(
  context: ProxyContext,
  request: ProxyRequest,
  label: EndpointLabel,
  model: unknown,
  incoming: Incoming,
  body: Uint8Array | null,
  reason: string,
): Promise<Answer> {
  countBypass(context, label, model);
  if (onlyFromCache(request.headers)) return Promise.resolve(notFromCache(reason));
  const method = body === null ? request.method : 'POST';
  const extra = { 'x-llmemo-bypass': reason };
  return forward(context, label, method, incoming.path, incoming.headers, body, extra, request.record);
}
