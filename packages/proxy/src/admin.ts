import { type EntryFilter, isLlmemoError } from '@llmemo/core';
import { Hono, type MiddlewareHandler } from 'hono';
import { isObject, type ProxyContext, readSmallJson } from './context.js';
import { BadRequest, errorResponse } from './errors.js';
import { credentialNamespace } from './namespace-secret.js';
import { bearerMatches, secretDigest } from './tenancy.js';

/**
 * The purge filter of @llmemo/core (`cache.purge(filter)`), plus `apiKey`: purge the namespace that key's requests
 * use (with `namespace`, that key's sub-namespace of that name). A filter must name its scope: `namespace`,
 * `apiKey` or `all: true`.
 */
export type PurgeFilter = EntryFilter & { apiKey?: string };

/** Bearer check in constant time (comparing digests, so the token's length does not leak either). */
function requireToken(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : secretDigest(token);
  return async (c, next) => {
    if (!expected) {
      return errorResponse(404, 'The admin API is off. Start the proxy with LLMEMO_ADMIN_TOKEN set to enable it.', {
        code: 'admin_disabled',
      });
    }
    if (!bearerMatches(c.req.header('authorization'), expected)) {
      return errorResponse(401, 'The admin API needs `Authorization: Bearer <LLMEMO_ADMIN_TOKEN>`.', {
        type: 'authentication_error',
        code: 'invalid_admin_token',
        headers: { 'www-authenticate': 'Bearer realm="llmemo-proxy admin"' },
      });
    }
    await next();
  };
}

/** Turns an `apiKey` into its namespace and insists on a scope; core validates the rest. */
export async function parsePurgeFilter(body: unknown, context: ProxyContext): Promise<EntryFilter> {
  if (!isObject(body)) {
    throw new BadRequest(
      'The purge filter must be a JSON object, e.g. {"namespace": "team-a"}, {"apiKey": "sk-…"} or {"all": true, "model": "gpt-4o"}.',
      'invalid_purge_filter',
    );
  }
  const { apiKey, ...rest } = body as PurgeFilter;
  const filter: EntryFilter = rest;
  if (apiKey !== undefined) {
    if (typeof apiKey !== 'string' || apiKey === '') {
      throw new BadRequest('apiKey must be the API key whose entries to purge.', 'invalid_purge_filter', 'apiKey');
    }
    if (filter.all !== undefined) {
      throw new BadRequest('Give apiKey or all, not both.', 'invalid_purge_filter', 'apiKey');
    }
    const secret = await context.secret.get();
    if (!secret) {
      throw new BadRequest(
        'The namespace secret could not be loaded from the store, so no API key can be mapped to its namespace now. Retry when the store answers.',
        'store_unavailable',
        null,
        503,
      );
    }
    const base = credentialNamespace(secret, [apiKey]);
    filter.namespace = filter.namespace === undefined ? base : `${base}/${filter.namespace}`;
  }
  if (filter.namespace === undefined && filter.all !== true) {
    throw new BadRequest(
      'Say which entries: {"namespace": …} or {"apiKey": …} for one namespace, or {"all": true} (with other filters, or alone for everything).',
      'invalid_purge_filter',
    );
  }
  return filter;
}

/**
 * The admin API under /admin, behind the admin bearer token: GET /admin/stats, POST /admin/purge. Anything else
 * under /admin is a 404 here: nothing under /admin is ever forwarded upstream. Add routes to the returned app
 * (before the proxy serves requests) to extend it.
 */
export function adminApp(context: ProxyContext): Hono {
  const admin = new Hono();
  admin.use('*', requireToken(context.options.adminToken));
  admin.get('/stats', async (c) =>
    c.json({
      cache: context.cache.stats(),
      proxy: await context.metrics.snapshot(),
      store: context.cache.store.type,
      upstream: context.upstream.origin,
      inFlightStreams: context.flights.size,
    }),
  );
  admin.post('/purge', async (c) => {
    const filter = await parsePurgeFilter(await readSmallJson(c, context, 64 * 1024), context);
    let deleted: number;
    try {
      deleted = await context.cache.purge(filter);
    } catch (error) {
      if (isLlmemoError(error, 'INVALID_OPTIONS')) throw new BadRequest(error.message, 'invalid_purge_filter');
      throw error;
    }
    return c.json({ deleted, filter });
  });
  return admin;
}

/** The answer for any path under /admin the admin API does not have (never forwarded). */
export function unknownAdminPath(method: string, path: string): Response {
  return errorResponse(
    404,
    `llmemo-proxy has no admin endpoint ${method} ${path}; paths under /admin are never forwarded.`,
    {
      code: 'admin_not_found',
    },
  );
}
