import type { Context } from 'hono';
import { DROPPED_REQUEST_HEADERS } from './chat.js';
import {
  cacheHeaders,
  cacheRequest,
  isObject,
  type Json,
  jsonResponse,
  type ProxyContext,
  paramsOf,
  pathOf,
  readJson,
} from './context.js';
import { bypasses, directivesOf } from './directives.js';
import { failure, forward } from './forward.js';
import { PassThrough, requestHeaders, type UpstreamReply } from './upstream.js';

/** A cached images answer: the upstream's JSON body, and how long it took. */
export interface ImageValue {
  body: Json;
  ms: number;
}

/** `n` is left out of the key when it is 1, so `n: 1` and no `n` share an entry. */
const WIRE_FIELDS = ['model', 'prompt', 'n'];

/** GPT Image models always answer base64; DALL-E (and unknown models) answer URLs unless asked for b64_json. */
function answersWithUrls(body: Json): boolean {
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
export async function imageGenerations(context: ProxyContext, c: Context): Promise<Response> {
  const { raw, body } = await readJson(c, context.options.maxBodyBytes);
  const endpoint = context.options.endpoints.images;
  const path = pathOf(c);
  const headers = requestHeaders(c.req.raw.headers, DROPPED_REQUEST_HEADERS);
  const n = isObject(body) ? (body.n ?? 1) : 1;
  if (
    !endpoint ||
    !isObject(body) ||
    typeof body.prompt !== 'string' ||
    body.stream === true ||
    (n !== 1 && !endpoint.cacheMultiple)
  ) {
    return forward(context, 'images', 'POST', path, headers, raw);
  }
  const directives = directivesOf(c.req.raw.headers, endpoint, context.options);
  if (bypasses(directives)) {
    return forward(context, 'images', 'POST', path, headers, raw, { 'x-llmemo-namespace': directives.namespace });
  }
  const urls = answersWithUrls(body);
  if (urls) {
    const ttl = directives.ttl === undefined ? context.cache.defaults.ttl : directives.ttl;
    directives.ttl = ttl === null ? endpoint.urlTtl : Math.min(Number(ttl), endpoint.urlTtl);
  }
  const params = paramsOf(body, WIRE_FIELDS, context.options.ignoreParams);
  if (n !== 1) params.n = n;
  const request = cacheRequest(context, 'image', typeof body.model === 'string' ? body.model : '', body.prompt, params);
  let fetched: UpstreamReply | undefined;
  try {
    const result = await context.cache.getOrCompute(
      request,
      async (): Promise<ImageValue> => {
        const started = performance.now();
        context.metrics.upstreamRequest('images');
        const reply = await context.upstream.reply('POST', path, headers, raw);
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
      {
        ...directives,
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
      },
    );
    const namespace = directives.namespace;
    if (result.hit) {
      context.metrics.hit('images', result.value.ms);
      return jsonResponse(result.value.body, cacheHeaders('HIT', { key: result.key, age: result.age, namespace }));
    }
    const status = result.key === undefined ? 'BYPASS' : 'MISS';
    if (status === 'MISS') context.metrics.miss('images');
    const marks = cacheHeaders(status, { key: result.key, namespace, coalesced: result.coalesced });
    if (fetched && !result.coalesced) return fetched.toResponse(marks);
    return jsonResponse(result.value.body, marks);
  } catch (error) {
    return failure(error);
  }
}
