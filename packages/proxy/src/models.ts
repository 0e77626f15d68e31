import type { Context } from 'hono';
import { DROPPED_REQUEST_HEADERS } from './chat.js';
import { cacheHeaders, cacheRequest, isObject, type Json, jsonResponse, type ProxyContext, pathOf } from './context.js';
import { bypasses, directivesOf } from './directives.js';
import { failure, forward } from './forward.js';
import { PassThrough, requestHeaders, type UpstreamReply } from './upstream.js';

interface ModelsValue {
  body: Json;
  ms: number;
}

/**
 * GET /v1/models, cached briefly (default 5 minutes) per namespace: each API key may see different models (its
 * fine-tunes), and clients that list models on every start should not pay a round trip each time.
 */
export async function listModels(context: ProxyContext, c: Context): Promise<Response> {
  const endpoint = context.options.endpoints.models;
  const path = pathOf(c);
  const headers = requestHeaders(c.req.raw.headers, DROPPED_REQUEST_HEADERS);
  if (!endpoint) return forward(context, 'models', 'GET', path, headers, null);
  const directives = directivesOf(c.req.raw.headers, endpoint, context.options);
  if (bypasses(directives)) {
    return forward(context, 'models', 'GET', path, headers, null, { 'x-llmemo-namespace': directives.namespace });
  }
  const query = new URL(c.req.url).search;
  const request = cacheRequest(context, 'models', '*', null, query ? { query } : {});
  let fetched: UpstreamReply | undefined;
  try {
    const result = await context.cache.getOrCompute(
      request,
      async (): Promise<ModelsValue> => {
        const started = performance.now();
        context.metrics.upstreamRequest('models');
        const reply = await context.upstream.reply('GET', path, headers);
        let parsed: unknown;
        try {
          parsed = reply.ok ? JSON.parse(reply.text()) : undefined;
        } catch {
          parsed = undefined;
        }
        if (!isObject(parsed) || !Array.isArray(parsed.data)) throw new PassThrough(reply);
        fetched = reply;
        return { body: parsed, ms: performance.now() - started };
      },
      directives,
    );
    const namespace = directives.namespace;
    if (result.hit) {
      context.metrics.hit('models', result.value.ms);
      return jsonResponse(result.value.body, cacheHeaders('HIT', { key: result.key, age: result.age, namespace }));
    }
    const status = result.key === undefined ? 'BYPASS' : 'MISS';
    if (status === 'MISS') context.metrics.miss('models');
    const marks = cacheHeaders(status, { key: result.key, namespace, coalesced: result.coalesced });
    if (fetched && !result.coalesced) return fetched.toResponse(marks);
    return jsonResponse(result.value.body, marks);
  } catch (error) {
    return failure(error);
  }
}
