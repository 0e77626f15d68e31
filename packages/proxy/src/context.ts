import type { IncomingHttpHeaders } from 'node:http';
import type { ResponseCache, StreamFlight } from '@llmemo/core';
import type { Context } from 'hono';
import { Answer } from './answer.js';
import type { BodyBudget } from './body.js';
import { readBody } from './body.js';
import { BadRequest } from './errors.js';
import type { ProxyMetrics } from './metrics.js';
import type { NamespaceSecret } from './namespace-secret.js';
import type { ResolvedProxyOptions } from './options.js';
import { requestOf } from './request.js';
import type { Upstream } from './upstream.js';

export { PROXY_SPEC_VERSION } from './request-key.js';

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
  /** Where /v1/messages goes: the same Upstream as `upstream` unless `anthropicUpstream` names another. */
  anthropic: Upstream;
  flights: StreamFlight<Uint8Array, StreamMeta>;
  metrics: ProxyMetrics;
  secret: NamespaceSecret;
  budget: BodyBudget;
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A small JSON body for the proxy's own endpoints (admin): parsed plainly, refused past `limit`. */
export async function readSmallJson(c: Context, context: ProxyContext, limit: number): Promise<unknown> {
  const raw = await readBody(requestOf(c), {
    maxBytes: limit,
    timeoutMs: context.options.bodyTimeoutMs,
    budget: context.budget,
  });
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8')) as unknown;
  } catch (error) {
    throw new BadRequest(
      `llmemo-proxy could not parse the JSON body of your request (${raw.byteLength === 0 ? 'the body is empty' : (error as Error).message}).`,
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

/** An answer built from a header record (which `headerOf` reads without building `Headers`). */
export function recordAnswer(
  body: string | ReadableStream<Uint8Array>,
  headers: Record<string, string>,
  status = 200,
): Answer {
  return new Answer(body, headers, status);
}

export function jsonAnswer(body: unknown, headers: Record<string, string>, status = 200): Answer {
  return recordAnswer(JSON.stringify(body), { 'content-type': 'application/json', ...headers }, status);
}
