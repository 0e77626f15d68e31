import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { type ResponseCache, StreamFlight } from '@llmemo/core';
import { SnapshotCache } from '@llmemo/dashboard';
import { type ErrorHandler, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Registry } from 'prom-client';
import { accessLog } from './access-log.js';
import { adminApp, unknownAdminPath } from './admin.js';
import { toResponse } from './answer.js';
import { BodyBudget } from './body.js';
import { chatCompletions } from './chat.js';
import type { ProxyContext, StreamMeta } from './context.js';
import { dashboardRoutes } from './dashboard.js';
import { embeddings } from './embeddings.js';
import { registerEntryMetrics } from './entry-metrics.js';
import { healthRoutes } from './health.js';
import { imageEdits } from './image-edits.js';
import { imageGenerations } from './images.js';
import { anthropicMessages } from './messages.js';
import { type EndpointLabel, ProxyMetrics } from './metrics.js';
import { listModels } from './models.js';
import { NamespaceSecret } from './namespace-secret.js';
import { type NodeRoute, nodeListener } from './node-listener.js';
import { type ProxyOptions, type ResolvedProxyOptions, resolveProxyOptions } from './options.js';
import { budgeted, honoRoute, honoStep, measured, proxyError, runChain, type Step } from './pipeline.js';
import { type Reconfigured, reconfigure } from './reconfigure.js';
import { requestOf } from './request.js';
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

/** The cached endpoints, served on Node without hono by the listener; hono serves them on the fetch path. */
const HOT_ROUTES = [
  ['/v1/chat/completions', 'chat', chatCompletions],
  ['/v1/messages', 'messages', anthropicMessages],
  ['/v1/embeddings', 'embeddings', embeddings],
] as const;

/** The steps every request goes through first, in order. */
function firstSteps(context: ProxyContext, resolved: ResolvedProxyOptions): Step[] {
  const steps: Step[] = [];
  if (resolved.accessLog) steps.push(accessLog(resolved.accessLog));
  steps.push(keepOwnTokens(context));
  return steps;
}

/** The routes, in the order they match. */
function addRoutes(app: Hono, context: ProxyContext, resolved: ResolvedProxyOptions, snapshots: SnapshotCache): void {
  const { metrics } = context;
  const measure = (endpoint: EndpointLabel) => honoStep(measured(metrics, endpoint));
  for (const step of firstSteps(context, resolved)) app.use('*', honoStep(step));
  healthRoutes(app, context);

  for (const [path, label, handler] of HOT_ROUTES) app.post(path, measure(label), honoRoute(context, handler));
  // The rest of the Messages API (count_tokens, batches) goes where messages go, uncached.
  app.all('/v1/messages/*', measure('messages'), passThrough(context, 'messages'));
  app.post('/v1/images/generations', measure('images'), honoRoute(context, imageGenerations));
  app.post('/v1/images/edits', measure('images'), honoRoute(context, imageEdits));
  app.get('/v1/models', measure('models'), honoRoute(context, listModels));
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
  app.all('*', measure('other'), passThrough(context));
}

/** The hot routes for the Node listener: the same steps, route and error handler as on hono, in the same order. */
function nodeRoutes(context: ProxyContext, resolved: ResolvedProxyOptions): Map<string, NodeRoute> {
  const first = firstSteps(context, resolved);
  const onError = proxyError(resolved);
  const routes = new Map<string, NodeRoute>();
  for (const [path, label, handler] of HOT_ROUTES) {
    const steps = [...first, measured(context.metrics, label)];
    const route = budgeted(context, handler);
    routes.set(path, (request) => runChain(steps, route, onError, request));
  }
  return routes;
}

const HOT = new WeakMap<LlmemoProxy, ReadonlyMap<string, NodeRoute>>();

/** A proxy's listener with the adapter built by the caller (`startProxy` gives it the default host name). */
export function listenerOf(proxy: LlmemoProxy, fallback: Parameters<typeof nodeListener>[1]) {
  const routes = HOT.get(proxy);
  return routes ? nodeListener(routes, fallback) : fallback;
}

/** The app's error handler: hono's own exceptions answer as they say, everything else as on the Node path. */
function honoErrors(resolved: ResolvedProxyOptions): ErrorHandler {
  const onError = proxyError(resolved);
  return (error, c) =>
    error instanceof HTTPException ? error.getResponse() : toResponse(onError(error, requestOf(c)));
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
  const routes = nodeRoutes(context, resolved);
  const proxy: LlmemoProxy = {
    app,
    fetch,
    listener: nodeListener(routes, getRequestListener(fetch)),
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
  HOT.set(proxy, routes);
  return proxy;
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
  app.onError(honoErrors(resolved));
  return proxyHandle(app, context, resolved, options);
}
