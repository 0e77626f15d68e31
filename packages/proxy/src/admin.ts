import { createHash, timingSafeEqual } from 'node:crypto';
import { type EntryFilter, isLlmemoError } from '@llmemo/core';
import type { Hono, MiddlewareHandler } from 'hono';
import { isObject, type ProxyContext, readJson } from './context.js';
import { namespaceForKey } from './directives.js';
import { BadRequest, errorResponse } from './errors.js';

/**
 * The purge filter of @llmemo/core (`cache.purge(filter)`), plus `apiKey`: purge the namespace that key's requests
 * use. A proxy has a namespace per API key, so a filter must name its scope: `namespace`, `apiKey` or `all: true`.
 */
export type PurgeFilter = EntryFilter & { apiKey?: string };

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Bearer check in constant time (comparing digests, so the token's length does not leak either). */
function requireToken(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (c, next) => {
    if (!expected) {
      return errorResponse(404, 'The admin API is off. Start the proxy with LLMEMO_ADMIN_TOKEN set to enable it.', {
        code: 'admin_disabled',
      });
    }
    const match = /^bearer\s+(.+)$/i.exec(c.req.header('authorization')?.trim() ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!.trim()), expected)) {
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
export function parsePurgeFilter(body: unknown): EntryFilter {
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
    if (filter.namespace !== undefined || filter.all !== undefined) {
      throw new BadRequest('Give one of apiKey, namespace or all, not several.', 'invalid_purge_filter', 'apiKey');
    }
    filter.namespace = namespaceForKey(apiKey);
  }
  if (filter.namespace === undefined && filter.all !== true) {
    throw new BadRequest(
      'Say which entries: {"namespace": …} or {"apiKey": …} for one namespace, or {"all": true} (with other filters, or alone for everything).',
      'invalid_purge_filter',
    );
  }
  return filter;
}

/** GET /admin/stats and POST /admin/purge, behind the admin bearer token. */
export function adminRoutes(app: Hono, context: ProxyContext): void {
  app.use('/admin/*', requireToken(context.options.adminToken));
  app.get('/admin/stats', async (c) =>
    c.json({
      cache: context.cache.stats(),
      proxy: await context.metrics.snapshot(),
      store: context.cache.store.type,
      upstream: context.upstream.origin,
      inFlightStreams: context.flights.size,
    }),
  );
  app.post('/admin/purge', async (c) => {
    const { body } = await readJson(c, 64 * 1024);
    const filter = parsePurgeFilter(body);
    let deleted: number;
    try {
      deleted = await context.cache.purge(filter);
    } catch (error) {
      if (isLlmemoError(error, 'INVALID_OPTIONS')) throw new BadRequest(error.message, 'invalid_purge_filter');
      throw error;
    }
    return c.json({ deleted, filter });
  });
}
