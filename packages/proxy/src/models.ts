import type { Answer } from './answer.js';
import { cacheHeaders, isObject, type Json, jsonAnswer, type ProxyContext } from './context.js';
import { failure } from './forward.js';
import { bypassed, incomingOf, plan } from './prepare.js';
import type { ProxyRequest } from './request.js';
import { cacheRequest } from './request-key.js';
import { PassThrough, type UpstreamReply } from './upstream.js';

interface ModelsValue {
  body: Json;
  ms: number;
}

/**
 * GET /v1/models, cached briefly (default 5 minutes) per namespace: each API key may see different models (its
 * fine-tunes), and clients that list models on every start should not pay a round trip each time.
 */
export async function listModels(context: ProxyContext, req: ProxyRequest): Promise<Answer> {
  const incoming = incomingOf(req);
  const pass = (reason: string) => bypassed(context, req, 'models', '*', incoming, null, reason);
  const endpoint = context.options.endpoints.models;
  if (!endpoint) return pass('endpoint-off');
  const planned = await plan(context, req, endpoint, incoming);
  if (planned.bypass !== undefined) return pass(planned.bypass);
  const { directives, scope } = planned;
  const { path, headers } = incoming;
  const record = req.record;
  // The query is in the scope's endpoint.
  const request = cacheRequest(context, 'models', '*', null, {}, scope);
  let fetched: UpstreamReply | undefined;
  try {
    const result = await context.cache.getOrCompute(
      request,
      async (): Promise<ModelsValue> => {
        const started = performance.now();
        context.metrics.upstreamRequest('models');
        const reply = await context.upstream.reply('GET', path, headers, undefined, record);
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
      return jsonAnswer(result.value.body, cacheHeaders('HIT', { key: result.key, age: result.age, namespace }));
    }
    const status = result.key === undefined ? 'BYPASS' : 'MISS';
    if (status === 'MISS') context.metrics.miss('models');
    const marks = cacheHeaders(status, { key: result.key, namespace, coalesced: result.coalesced });
    if (status === 'BYPASS') marks['x-llmemo-bypass'] = 'unkeyable';
    if (fetched && !result.coalesced) return fetched.toAnswer(marks);
    return jsonAnswer(result.value.body, marks);
  } catch (error) {
    return failure(context, error);
  }
}
