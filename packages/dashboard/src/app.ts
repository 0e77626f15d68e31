import {
  type Duration,
  isLlmemoError,
  LlmemoError,
  type PriceTable,
  parseDuration,
  type ResponseCache,
  resolvePrices,
  resolveRange,
} from '@llmemo/core';
import { type Context, Hono } from 'hono';
import { type Asset, assets } from './assets.js';
import { ENTRY_SORTS, type EntriesQuery, type EntrySort, listEntries } from './entries.js';
import { buildOverview } from './overview.js';
import { SnapshotCache } from './snapshot.js';

export interface DashboardOptions {
  /** The cache whose store the page shows (every process sharing that store is counted). */
  cache: ResponseCache;
  /** Prices per 1M tokens by model, for money saved. Default: the cache's `prices` option. */
  prices?: PriceTable;
  /** Where the page is mounted, e.g. '/dashboard'. Default '' (the root). */
  basePath?: string;
  /**
   * Checks every API request (the page's files hold no data and are served to anyone who reaches them). Resolve
   * a Response to refuse the request, or undefined to let it through.
   */
  authorize?: (request: Request) => Response | undefined | Promise<Response | undefined>;
  /**
   * Host headers to answer (e.g. '127.0.0.1:4777'); others get 421. Guards a loopback server against DNS
   * rebinding, where a web page's own host name is pointed at 127.0.0.1. Default: any.
   */
  allowedHosts?: string[];
  /** Show the serving process's own state (breaker, errors): true in the proxy, false in the CLI. Default true. */
  live?: boolean;
  /** How long one scan of the entries is reused by the page and its API. Default '30s'. */
  snapshotMaxAge?: Duration;
  /** Entry snapshots to share with other readers (the proxy's Prometheus histograms). Default: its own. */
  snapshots?: SnapshotCache;
}

export interface Dashboard {
  /** The Web-standard handler for the page and its API, under `basePath`. */
  readonly fetch: (request: Request) => Promise<Response>;
  /** The entry snapshots the page reads (the proxy's Prometheus histograms share them). */
  readonly snapshots: SnapshotCache;
}

/** How long the overview waits for a scan of the entries before answering without them (`entriesPending`). */
const OVERVIEW_WAIT_MS = 1000;

/** Content-Security-Policy and friends: the page loads only its own files and talks only to its own API. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function errorJson(c: Context, status: 400 | 404 | 421 | 503, message: string, code: string): Response {
  return c.json({ error: { message, code } }, status);
}

function optional(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function integer(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      `${name} must be an integer from 0 to ${max}; got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

function entriesQuery(c: Context): EntriesQuery {
  const sort = c.req.query('sort') ?? 'newest';
  if (!(ENTRY_SORTS as readonly string[]).includes(sort)) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      `sort must be one of ${ENTRY_SORTS.join(', ')}; got ${JSON.stringify(sort)}.`,
    );
  }
  return {
    sort: sort as EntrySort,
    namespace: optional(c.req.query('namespace')),
    model: optional(c.req.query('model')),
    kind: optional(c.req.query('kind')),
    offset: integer(c.req.query('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER),
    limit: Math.max(1, integer(c.req.query('limit'), 'limit', 50, 500)),
  };
}

interface Resolved {
  cache: ResponseCache;
  prices: PriceTable | undefined;
  base: string;
  maxAge: number;
  snapshots: SnapshotCache;
  options: DashboardOptions;
}

function resolve(options: DashboardOptions): Resolved {
  const { cache } = options;
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base !== '' && !/^\/[\w./-]*$/.test(base)) {
    throw new LlmemoError('INVALID_OPTIONS', `basePath must look like '/dashboard'; got ${JSON.stringify(base)}.`);
  }
  const maxAge =
    options.snapshotMaxAge === undefined ? 30_000 : parseDuration(options.snapshotMaxAge, 'snapshotMaxAge');
  return {
    cache,
    prices: options.prices === undefined ? cache.priceTable : resolvePrices(options.prices),
    base,
    maxAge,
    snapshots: options.snapshots ?? new SnapshotCache(cache, maxAge),
    options,
  };
}

/** Every answer: refused for a Host not allowed, and sent with the security headers. */
function guard(app: Hono, allowedHosts: string[] | undefined): void {
  app.use('*', async (c, next) => {
    const host = c.req.header('host')?.toLowerCase();
    if (allowedHosts && (host === undefined || !allowedHosts.includes(host))) {
      return errorJson(c, 421, `This dashboard answers on ${allowedHosts.join(' or ')} only.`, 'wrong_host');
    }
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });
}

function apiRoutes(app: Hono, { cache, prices, base, maxAge, snapshots, options }: Resolved): void {
  // Whether the page must ask for a token first (so it can show the sign-in form without provoking a 401).
  app.get(`${base}/api/auth`, (c) => c.json({ required: options.authorize !== undefined }));

  app.use(`${base}/api/*`, async (c, next) => {
    if (c.req.path !== `${base}/api/auth`) {
      const refusal = await options.authorize?.(c.req.raw);
      if (refusal) return refusal;
    }
    await next();
    c.res.headers.set('cache-control', 'no-store');
  });

  app.get(`${base}/api/overview`, async (c) => {
    const range = resolveRange(c.req.query('range') ?? '24h', 'range');
    const namespace = optional(c.req.query('namespace'));
    // The counters answer at once; a first scan of a large store may take longer than a page should wait.
    const snapshot = await snapshots.within(OVERVIEW_WAIT_MS, { maxAgeMs: maxAge });
    return c.json(await buildOverview(cache, snapshot, { range, namespace, prices, live: options.live ?? true }));
  });

  app.get(`${base}/api/entries`, async (c) =>
    c.json(listEntries(await snapshots.get({ maxAgeMs: maxAge }), entriesQuery(c))),
  );

  app.all(`${base}/api/*`, (c) => errorJson(c, 404, `No dashboard API at ${c.req.path}.`, 'not_found'));
}

/** The page's own files, from a fixed list (no request path reaches any other file). */
function fileRoutes(app: Hono, base: string, files: Map<string, Asset>): void {
  if (base !== '') app.get(base, (c) => c.redirect(`${base}/`, 308));
  app.get(`${base}/*`, (c) => {
    const name = c.req.path.slice(base.length + 1) || 'index.html';
    const file = files.get(name);
    if (!file) return errorJson(c, 404, `No dashboard file ${name}.`, 'not_found');
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, { etag: file.etag });
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': file.type,
      etag: file.etag,
      'cache-control': 'no-cache',
    });
  });
}

/**
 * The dashboard: a static page (with its chart library, no CDN) and the JSON API it reads,
 * `GET api/overview?range=24h|7d|30d[&namespace=…]` and `GET api/entries?sort=…&offset=…&limit=…`.
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const resolved = resolve(options);
  const files = assets();
  const app = new Hono();
  guard(
    app,
    options.allowedHosts?.map((host) => host.toLowerCase()),
  );
  apiRoutes(app, resolved);
  fileRoutes(app, resolved.base, files);
  app.onError((error, c) => {
    if (isLlmemoError(error, 'INVALID_OPTIONS')) return errorJson(c, 400, error.message, 'invalid_request');
    if (isLlmemoError(error, 'STORE_UNAVAILABLE')) return errorJson(c, 503, error.message, 'store_unavailable');
    throw error;
  });
  return { fetch: async (request) => app.fetch(request), snapshots: resolved.snapshots };
}
