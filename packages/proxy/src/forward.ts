import { isLlmemoError } from '@llmemo/core';
import type { Dispatcher } from 'undici';
import type { ProxyContext } from './context.js';
import { BadRequest, errorResponse } from './errors.js';
import type { EndpointLabel } from './metrics.js';
import { nullBodyStatus, PassThrough, responseHeaders, Upstream, UpstreamUnreachable } from './upstream.js';

/**
 * Sends the request upstream as is and streams the answer back untouched (status, headers, body bytes), marked
 * `X-Cache: BYPASS`. Used for every endpoint the proxy does not cache and for requests that opt out.
 */
export async function forward(
  context: ProxyContext,
  endpoint: EndpointLabel,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Dispatcher.DispatchOptions['body'],
  extra: Record<string, string> = {},
): Promise<Response> {
  context.metrics.upstreamRequest(endpoint);
  try {
    const response = await context.upstream.request(method, path, headers, body);
    const out = responseHeaders(response.headers);
    out.set('x-cache', 'BYPASS');
    for (const [name, value] of Object.entries(extra)) out.set(name, value);
    if (method === 'HEAD' || nullBodyStatus(response.statusCode)) {
      await response.body.dump();
      return new Response(null, { status: response.statusCode, headers: out });
    }
    return new Response(Upstream.stream(response), { status: response.statusCode, headers: out });
  } catch (error) {
    return failure(error);
  }
}

/** The client's answer for anything a handler throws that is not a bug. */
export function failure(error: unknown): Response {
  if (error instanceof PassThrough) return error.reply.toResponse({ 'x-cache': 'MISS' });
  if (error instanceof UpstreamUnreachable) {
    return errorResponse(error.timeout ? 504 : 502, error.message, {
      type: 'upstream_error',
      code: error.timeout ? 'upstream_timeout' : 'upstream_unreachable',
      headers: { 'x-cache': 'MISS' },
    });
  }
  if (error instanceof BadRequest) return error.toResponse();
  if (isLlmemoError(error, 'CACHE_MISS')) {
    // RFC 9111 §5.2.1.7: a cache told to answer only from storage replies 504 on a miss.
    return errorResponse(504, error.message, {
      type: 'cache_miss',
      code: 'cache_miss',
      headers: { 'x-cache': 'MISS' },
    });
  }
  throw error;
}
