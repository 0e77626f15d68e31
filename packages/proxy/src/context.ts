import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { CacheRequest, ResponseCache, StreamFlight } from '@llmemo/core';
import type { Context } from 'hono';
import { BadRequest } from './errors.js';
import type { ProxyMetrics } from './metrics.js';
import type { ResolvedProxyOptions } from './options.js';
import type { Upstream } from './upstream.js';

/** What every upstream stream shares with the callers coalesced onto it. */
export interface StreamMeta {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Everything a route handler needs, built once per proxy. */
export interface ProxyContext {
  options: ResolvedProxyOptions;
  cache: ResponseCache;
  upstream: Upstream;
  flights: StreamFlight<Uint8Array, StreamMeta>;
  metrics: ProxyMetrics;
}

/** Marks the proxy's entries apart from the AI SDK's and LangChain's, and versions the stored value shapes. */
export const PROXY_SPEC_VERSION = 'openai-http.1';

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The client's body, both as the bytes to forward unchanged and parsed. */
export interface JsonBody {
  raw: Uint8Array;
  body: unknown;
}

const decoder = new TextDecoder();

function tooLarge(limit: number): BadRequest {
  return new BadRequest(
    `The request body is over the proxy's limit of ${limit} bytes. Send a smaller request, or raise --max-body-size.`,
    'request_too_large',
    null,
    413,
  );
}

/**
 * The request body, refused with a 413 past `limit`. On Node it is read straight from the IncomingMessage: going
 * through the Web Request that the Node adapter builds on demand (as hono/body-limit and `c.req.arrayBuffer()` do)
 * costs about 0.3 ms a request, which is most of a cache hit's overhead (measured in test/bench/proxy.bench.ts).
 */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const declared = Number(incoming ? incoming.headers['content-length'] : c.req.header('content-length'));
  if (declared > limit) throw tooLarge(limit);
  const parts: Uint8Array[] = [];
  let size = 0;
  const take = (part: Uint8Array) => {
    size += part.byteLength;
    if (size > limit) throw tooLarge(limit);
    parts.push(part);
  };
  if (incoming && !incoming.readableEnded) {
    for await (const part of incoming) take(part as Buffer);
  } else if (c.req.raw.body) {
    const reader = c.req.raw.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      try {
        take(value);
      } catch (error) {
        reader.cancel().catch(() => {});
        throw error;
      }
    }
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

export async function readJson(c: Context, limit: number): Promise<JsonBody> {
  const raw = await readBody(c, limit);
  try {
    return { raw, body: JSON.parse(decoder.decode(raw)) as unknown };
  } catch (error) {
    const detail = raw.byteLength === 0 ? 'the body is empty' : (error as Error).message;
    throw new BadRequest(
      `llmemo-proxy could not parse the JSON body of your request (${detail}). Send a JSON object with Content-Type: application/json.`,
      'invalid_json',
    );
  }
}

/** The body minus the fields that are the key's input, the ones converted between forms, and the ignored ones. */
export function paramsOf(body: Json, taken: readonly string[], ignored: ReadonlySet<string>): Json {
  const params: Json = {};
  for (const [name, value] of Object.entries(body)) {
    if (taken.includes(name) || ignored.has(name)) continue;
    params[name] = value;
  }
  return params;
}

export function cacheRequest(
  context: ProxyContext,
  kind: string,
  model: string,
  input: unknown,
  params: Json,
): CacheRequest {
  return { kind, provider: context.options.provider, model, specVersion: PROXY_SPEC_VERSION, input, params };
}

/** The path and query the client used, for the upstream. */
export function pathOf(c: Context): string {
  const url = c.req.url;
  const start = url.indexOf('/', url.indexOf('//') + 2);
  return start < 0 ? '/' : url.slice(start);
}

/** The digest part of a stored key: enough to find the entry, never the prompt nor the namespace. */
export function digestOf(key: string | undefined): string | undefined {
  return key === undefined ? undefined : key.slice(key.lastIndexOf(':') + 1);
}

export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/** X-Cache, Age (whole seconds), the key digest and the namespace, on every cached endpoint's answer. */
export function cacheHeaders(
  status: CacheStatus,
  details: { key?: string | undefined; age?: number; namespace?: string; coalesced?: boolean } = {},
): Record<string, string> {
  const headers: Record<string, string> = { 'x-cache': status };
  if (details.age !== undefined) headers.age = String(Math.floor(details.age / 1000));
  const digest = digestOf(details.key);
  if (digest !== undefined) headers['x-llmemo-key'] = digest;
  if (details.namespace !== undefined) headers['x-llmemo-namespace'] = details.namespace;
  if (details.coalesced) headers['x-llmemo-coalesced'] = '1';
  return headers;
}

export function jsonResponse(body: unknown, headers: Record<string, string>, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}
