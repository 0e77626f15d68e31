import type { CacheRequest, ComputeOptions } from '@llmemo/core';
import type { Answer } from './answer.js';
import { cacheHeaders, isObject, type Json, jsonAnswer, type ProxyContext, paramsOf } from './context.js';
import type { Directives } from './directives.js';
import { failure } from './forward.js';
import { parseBody } from './json-body.js';
import type { ResolvedProxyOptions } from './options.js';
import { bypassed, incomingOf, plan, readRequestBody } from './prepare.js';
import type { ProxyRequest } from './request.js';
import { cacheRequest } from './request-key.js';
import { PassThrough, type UpstreamReply } from './upstream.js';

/** A cached images answer: the upstream's JSON body, and how long it took. */
export interface ImageValue {
  body: Json;
  ms: number;
}

/** `n` is left out of the key when it is 1, so `n: 1` and no `n` share an entry. */
const WIRE_FIELDS = ['model', 'prompt', 'n'];

/** GPT Image models always answer base64; DALL-E (and unknown models) answer URLs unless asked for b64_json. */
export function answersWithUrls(body: Json): boolean {
  if (body.response_format === 'b64_json') return false;
  if (body.response_format === 'url') return true;
  return !(typeof body.model === 'string' && /^(gpt-image|chatgpt-image)/.test(body.model));
}

function hasUrls(body: Json): boolean {
  return Array.isArray(body.data) && body.data.some((item) => isObject(item) && typeof item.url === 'string');
}

/**
 * POST /v1/images/generations. Only `n = 1` is cached by default: asking for several images usually means wanting
 * different ones each time. Answers holding URLs are kept at most `urlTtl`, because the provider expires them.
 */
export async function imageGenerations(context: ProxyContext, req: ProxyRequest): Promise<Answer> {
  const incoming = incomingOf(req);
  const raw = await readRequestBody(req, context);
  const parsed = parseBody(raw);
  const body = parsed.body;
  const pass = (reason: string) =>
    bypassed(context, req, 'images', isObject(body) ? body.model : undefined, incoming, raw, reason);
  const endpoint = context.options.endpoints.images;
  if (!endpoint) return pass('endpoint-off');
  if (parsed.unkeyable !== undefined) return pass(parsed.unkeyable);
  const n = isObject(body) ? (body.n ?? 1) : 1;
  if (!isObject(body) || typeof body.prompt !== 'string' || body.stream === true) return pass('unkeyable');
  if (n !== 1 && !endpoint.cacheMultiple) return pass('multiple-images');
  const planned = await plan(context, req, endpoint, incoming);
  if (planned.bypass !== undefined) return pass(planned.bypass);
  const { directives, scope } = planned;
  const params = paramsOf(body, WIRE_FIELDS, context.options.ignoreParams);
  if (n !== 1) params.n = n;
  const model = typeof body.model === 'string' ? body.model : '';
  const request = cacheRequest(context, 'image', model, body.prompt, params, scope);
  return cachedImages(context, req, { request, directives, endpoint, raw, urls: answersWithUrls(body) });
}

export interface ImageCall {
  request: CacheRequest;
  directives: Directives;
  endpoint: NonNullable<ResolvedProxyOptions['endpoints']['images']>;
  /** The client's body, sent upstream as is. */
  raw: Uint8Array;
  /** The answer will hold image URLs (which the provider expires), so the entry's ttl is capped at urlTtl. */
  urls: boolean;
}

/** Which answers are stored (those holding images; URLs only when expected), with their token usage. */
function storing(urls: boolean): Pick<ComputeOptions<ImageValue>, 'cacheable' | 'metadata'> {
  return {
    cacheable: ({ body: answer }) => {
      if (!Array.isArray(answer.data) || answer.data.length === 0) return 'the answer holds no images';
      if (!urls && hasUrls(answer)) return 'the answer holds image URLs, which expire';
      return true;
    },
    metadata: ({ body: answer }) => {
      const usage = isObject(answer.usage) ? answer.usage : undefined;
      if (!usage) return undefined;
      const tokens: { inputTokens?: number; outputTokens?: number } = {};
      if (typeof usage.input_tokens === 'number') tokens.inputTokens = usage.input_tokens;
      if (typeof usage.output_tokens === 'number') tokens.outputTokens = usage.output_tokens;
      return { usage: tokens };
    },
  };
}

/** One cached images request (generation or edit): the upstream's JSON answer, stored when it holds images. */
export async function cachedImages(
  context: ProxyContext,
  req: ProxyRequest,
  { request, directives, endpoint, raw, urls }: ImageCall,
): Promise<Answer> {
  const { path, headers } = incomingOf(req);
  const record = req.record;
  if (urls) {
    const ttl = directives.ttl === undefined ? context.cache.defaults.ttl : directives.ttl;
    directives.ttl = ttl === null ? endpoint.urlTtl : Math.min(Number(ttl), endpoint.urlTtl);
  }
  let fetched: UpstreamReply | undefined;
  try {
    const result = await context.cache.getOrCompute(
      request,
      async (): Promise<ImageValue> => {
        const started = performance.now();
        context.metrics.upstreamRequest('images');
        const reply = await context.upstream.reply('POST', path, headers, raw, record);
        let parsed: unknown;
        try {
          parsed = reply.ok ? JSON.parse(reply.text()) : undefined;
        } catch {
          parsed = undefined;
        }
        if (!isObject(parsed)) throw new PassThrough(reply);
        fetched = reply;
        return { body: parsed, ms: performance.now() - started };
      },
      { ...directives, ...storing(urls) },
    );
    const namespace = directives.namespace;
    if (result.hit) {
      context.metrics.hit('images', result.value.ms);
      return jsonAnswer(result.value.body, cacheHeaders('HIT', { key: result.key, age: result.age, namespace }));
    }
    const status = result.key === undefined ? 'BYPASS' : 'MISS';
    if (status === 'MISS') context.metrics.miss('images');
    const marks = cacheHeaders(status, { key: result.key, namespace, coalesced: result.coalesced });
    if (status === 'BYPASS') marks['x-llmemo-bypass'] = 'unkeyable';
    if (fetched && !result.coalesced) return fetched.toAnswer(marks);
    return jsonAnswer(result.value.body, marks);
  } catch (error) {
    return failure(context, error);
  }
}
