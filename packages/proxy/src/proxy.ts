import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { type ResponseCache, StreamFlight } from '@llmemo/core';
import { SnapshotCache } from '@llmemo/dashboard';
import { type Context, type ErrorHandler, Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Registry } from 'prom-client';
import { accessLog } from './access-log.js';
import { adminApp, unknownAdminPath } from './admin.js';
import { BodyBudget, reserve } from './body.js';
import { chatCompletions } from './chat.js';
import { headerOf, type ProxyContext, type StreamMeta } from './context.js';
import { dashboardRoutes } from './dashboard.js';
import { embeddings } from './embeddings.js';
import { registerEntryMetrics } from './entry-metrics.js';
import { BadRequest, errorResponse } from './errors.js';
import { healthRoutes } from './health.js';
import { imageEdits } from './image-edits.js';
import { imageGenerations } from './images.js';
import { anthropicMessages } from './messages.js';
import { type EndpointLabel, ProxyMetrics } from './metrics.js';
import { listModels } from './models.js';
import { NamespaceSecret } from './namespace-secret.js';
import { type ProxyOptions, type ResolvedProxyOptions, resolveProxyOptions } from './options.js';
import { type Reconfigured, reconfigure } from './reconfigure.js';
import { keepOwnTokens, passThrough } from './routes.js';
import { Upstream } from './upstream.js';

export interface LlmemoProxy {
  /** The Hono app; mount it with `parent.mount('/prefix', proxy.fetch)` (the prefix is stripped). */
  readonly app: Hono;
  /** The Web-standard handler: `(request) => Promise<Response>`. */
  readonly fetch: (request: Request, env?: unknown) => Promise<Response>;
  /** A Node `(req, res)` listener for `http.createServer` or Express (`app.use('/llm', proxy.listener)`). */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  readonly cache: ResponseCache;
  /** The Prometheus registry behind GET /metrics. */
  readonly metrics: Registry;
  /** Waits for the cache writes started so far. */
  flush(): Promise<void>;
  /** Closes upstream connections, and the cache when the proxy created it. */
  close(): Promise<void>;
  /** Resolves once the namespace secret is loaded (true), or the store could not give it now (false). */
  ready(): Promise<boolean>;
  /**
   * Applies new options without dropping a connection (what `llmemo-proxy` does on SIGHUP): the store is swapped
   * live (requests in flight finish on the old one), ttls, endpoints, upstream and limits apply from the next
   * request. Throws `LlmemoError` for an invalid configuration, and then nothing changed. Resolves what changed,
   * and what differs but needs a restart (kept as it was). Reloads run one at a time.
   */
  reconfigure(options: ProxyOptions): Promise<Reconfigured>;
}

/** Counts and times each answer by its X-Cache result (streams: until the response starts). */
function measured(metrics: ProxyMetrics, endpoint: EndpointLabel): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    metrics.response(endpoint, headerOf(c.res, 'x-cache') ?? 'error', (performance.now() - started) / 1000);
  };
}

/** The state every route shares; reconfigure() swaps parts of it in place. */
function createContext(resolved: ResolvedProxyOptions, metrics: ProxyMetrics): ProxyContext {
  const upstream = new Upstream(resolved.upstream, resolved.upstreamTimeoutMs);
  return {
    options: resolved,
    cache: resolved.cache,
    upstream,
    anthropic:
      resolved.anthropicUpstream.href === resolved.upstream.href
        ? upstream
        : new Upstream(resolved.anthropicUpstream, resolved.upstreamTimeoutMs),
    flights: new StreamFlight<Uint8Array, StreamMeta>(),
    metrics,
    secret: new NamespaceSecret(resolved.cache.store, resolved.namespaceSecret, resolved.logger),
    budget: new BodyBudget(resolved.maxInflightBytes),
  };
}

/** A cached endpoint: the body bytes it holds count against the in-flight budget until its handler is done. */
function budgeted(context: ProxyContext) {
  return (handler: (context: ProxyContext, c: Context) => Promise<Response>) => async (c: Context) => {
    const reservation = reserve(c, context.budget);
    try {
      return await handler(context, c);
    } finally {
      reservation.release();
    }
  };
}

/** The routes, in the order they match. */
function addRoutes(app: Hono, context: ProxyContext, resolved: ResolvedProxyOptions, snapshots: SnapshotCache): void {
  const { metrics } = context;
  const route = budgeted(context);
  if (resolved.accessLog) app.use('*', accessLog(resolved.accessLog));
  app.use('*', keepOwnTokens(context));
  healthRoutes(app, context);

  app.post('/v1/chat/completions', measured(metrics, 'chat'), route(chatCompletions));
  app.post('/v1/messages', measured(metrics, 'messages'), route(anthropicMessages));
  // The rest of the Messages API (count_tokens, batches) goes where messages go, uncached.
  app.all('/v1/messages/*', measured(metrics, 'messages'), passThrough(context, 'messages'));
  app.post('/v1/embeddings', measured(metrics, 'embeddings'), route(embeddings));
  app.post('/v1/images/generations', measured(metrics, 'images'), route(imageGenerations));
  app.post('/v1/images/edits', measured(metrics, 'images'), route(imageEdits));
  app.get('/v1/models', measured(metrics, 'models'), route(listModels));
  if (resolved.metrics) {
    app.get('/metrics', async (c) =>
      c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
    );
  }
  app.route('/admin', adminApp(context));
  dashboardRoutes(app, context, snapshots);
  // Nothing under /admin is ever forwarded: unknown admin paths end here.
  app.all('/admin', (c) => unknownAdminPath(c.req.method, c.req.path));
  app.all('/admin/*', (c) => unknownAdminPath(c.req.method, c.req.path));
  // Everything else goes upstream untouched, body streamed, never cached.
  app.all('*', measured(metrics, 'other'), passThrough(context));
}

/** Client errors answer as such; anything else is the proxy's own failure, logged and answered 500. */
function proxyErrorHandler(resolved: ResolvedProxyOptions): ErrorHandler {
  return (error, c) => {
    if (error instanceof BadRequest) return error.toResponse();
    if (error instanceof HTTPException) return error.getResponse();
    resolved.logger?.error?.(`llmemo-proxy: ${c.req.method} ${c.req.path} failed: ${(error as Error).message}`, {
      code: 'proxy_error',
    });
    return errorResponse(
      500,
      `llmemo-proxy failed on this request (a failure of the proxy, not of the upstream): ${(error as Error).message}`,
      { type: 'server_error', code: 'proxy_error' },
    );
  };
}

/** The public face over a built app: handlers, flush, reload (one at a time) and close. */
function proxyHandle(
  app: Hono,
  context: ProxyContext,
  resolved: ResolvedProxyOptions,
  options: ProxyOptions,
): LlmemoProxy {
  // The Node adapter passes { incoming, outgoing } as env: the body is then read straight from the socket.
  const fetch = async (request: Request, env?: unknown) => app.fetch(request, env);
  let applied = options;
  let reloading: Promise<unknown> = Promise.resolve();
  return {
    app,
    fetch,
    listener: getRequestListener(fetch),
    cache: resolved.cache,
    metrics: context.metrics.registry,
    flush: () => resolved.cache.flush(),
    ready: async () => (await context.secret.get()) !== undefined,
    reconfigure(next: ProxyOptions) {
      const run = reloading.then(async () => {
        const result = await reconfigure(context, applied, next);
        applied = next;
        return result;
      });
      reloading = run.catch(() => {});
      return run;
    },
    async close() {
      await context.upstream.close().catch(() => {});
      if (context.anthropic !== context.upstream) await context.anthropic.close().catch(() => {});
      if (resolved.ownsCache) await resolved.cache.close();
    },
  };
}

/**
 * Creates the caching proxy: an OpenAI-compatible HTTP server that answers repeated chat, embeddings, images and
 * models requests from the cache and forwards everything else untouched. Invalid options throw `LlmemoError`
 * (INVALID_OPTIONS) here.
 */
export function createProxy(options: ProxyOptions): LlmemoProxy {
  const resolved = resolveProxyOptions(options);
  const metrics = new ProxyMetrics(resolved.cache);
  // One scan of the entries feeds both the dashboard and the /metrics histograms.
  const snapshots = new SnapshotCache(resolved.cache);
  registerEntryMetrics(metrics.registry, resolved.cache, snapshots);
  const context = createContext(resolved, metrics);
  // Loaded now, so the first request does not wait for it (a failure is logged and retried on use).
  void context.secret.get();

  const app = new Hono();
  addRoutes(app, context, resolved, snapshots);
  app.onError(proxyErrorHandler(resolved));
  return proxyHandle(app, context, resolved, options);
}
