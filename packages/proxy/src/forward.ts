import { isLlmemoError } from '@llmemo/core';
import type { Dispatcher } from 'undici';
import type { RequestRecord } from './access-log.js';
import { Answer } from './answer.js';
import type { ProxyContext } from './context.js';
import { BadRequest, describeError, errorAnswer } from './errors.js';
import type { EndpointLabel } from './metrics.js';
import {
  nullBodyStatus,
  PassThrough,
  ProxyFailure,
  responseHeaders,
  Upstream,
  UpstreamUnreachable,
} from './upstream.js';

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
  record?: RequestRecord,
): Promise<Answer> {
  context.metrics.upstreamRequest(endpoint);
  try {
    const started = performance.now();
    const upstream = endpoint === 'messages' ? context.anthropic : context.upstream;
    const response = await upstream.request(method, path, headers, body);
    const out = responseHeaders(response.headers);
    out.set('x-cache', 'BYPASS');
    for (const [name, value] of Object.entries(extra)) out.set(name, value);
    if (method === 'HEAD' || nullBodyStatus(response.statusCode)) {
      await response.body.dump();
      if (record) record.upstreamMs = performance.now() - started;
      return new Answer(null, out, response.statusCode);
    }
    const onEnd = record ? () => (record.upstreamMs = performance.now() - started) : undefined;
    return new Answer(Upstream.stream(response, { onEnd }), out, response.statusCode);
  } catch (error) {
    return failure(context, error, 'BYPASS');
  }
}

/** The client's answer for anything a handler throws that is not a bug; upstream and proxy failures are logged. */
export function failure(context: ProxyContext, error: unknown, cache: 'MISS' | 'BYPASS' = 'MISS'): Answer {
  if (error instanceof PassThrough) return error.reply.toAnswer({ 'x-cache': cache });
  if (error instanceof UpstreamUnreachable) {
    context.options.logger?.error?.(`${error.message} Cause: ${describeError(error.cause)}`, {
      code: error.timeout ? 'upstream_timeout' : 'upstream_unreachable',
    });
    return errorAnswer(error.timeout ? 504 : 502, error.message, {
      type: 'upstream_error',
      code: error.timeout ? 'upstream_timeout' : 'upstream_unreachable',
      headers: { 'x-cache': cache },
    });
  }
  if (error instanceof ProxyFailure) {
    context.options.logger?.error?.(error.message, { code: 'proxy_error' });
    return errorAnswer(500, error.message, {
      type: 'server_error',
      code: 'proxy_error',
      headers: { 'x-cache': cache },
    });
  }
  if (error instanceof BadRequest) return error.toAnswer();
  if (isLlmemoError(error, 'CACHE_MISS')) {
    // RFC 9111 §5.2.1.7: a cache told to answer only from storage replies 504 on a miss.
    return errorAnswer(504, error.message, {
      type: 'cache_miss',
      code: 'cache_miss',
      headers: { 'x-cache': 'MISS' },
    });
  }
  if (isLlmemoError(error, 'INVALID_OPTIONS')) {
    // Core refuses a namespace or label it cannot key injectively (malformed Unicode): the request's fault.
    return errorAnswer(400, error.message, { code: 'invalid_llmemo_namespace' });
  }
  throw error;
}
