import {
  type CacheOptions,
  type CacheStore,
  DEFAULT_TTL_MS,
  LlmemoError,
  parseTtl,
  ResponseCache,
  resolveStore,
} from '@llmemo/core';
import { BodyBudget } from './body.js';
import type { ProxyContext } from './context.js';
import { NamespaceSecret } from './namespace-secret.js';
import { type ProxyOptions, type ResolvedProxyOptions, resolveProxyOptions } from './options.js';
import { redact } from './redact.js';
import { Upstream } from './upstream.js';

/** What a reload changed, and what it could not change without a restart (kept as it was). */
export interface Reconfigured {
  /** One line per change, e.g. `store: sqlite://a.sqlite → redis://…`, `endpoints.chat.ttl: 7d → 1h`. */
  changed: string[];
  /** Settings that differ but only take effect at start (the running value is kept). */
  needsRestart: string[];
}

/** The cache options a reload can change: the store (swapped live) and the default ttl (applied per endpoint). */
const LIVE_CACHE_OPTIONS = ['store', 'ttl', 'logger'];

function invalid(message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', message);
}

function show(value: unknown): string {
  if (value === undefined) return 'unset';
  if (value instanceof Set) return JSON.stringify([...value]);
  if (value instanceof URL) return redact(value.href);
  return typeof value === 'string' ? redact(value) : JSON.stringify(value);
}

/** The resolved settings compared on a reload (functions, tokens and the cache object are not reloadable). */
const COMPARED: (keyof ResolvedProxyOptions)[] = [
  'upstream',
  'anthropicUpstream',
  'provider',
  'namespaceHeader',
  'anonymousNamespace',
  'credentials',
  'cacheContentFilter',
  'maxInflightBytes',
  'bodyTimeoutMs',
  'ignoreParams',
  'maxBodyBytes',
  'replay',
  'upstreamTimeoutMs',
  'staleIfError',
];

function differences(before: ResolvedProxyOptions, after: ResolvedProxyOptions): string[] {
  const changed: string[] = [];
  for (const name of COMPARED) {
    const [a, b] = [show(before[name]), show(after[name])];
    if (a !== b) changed.push(`${name}: ${a} → ${b}`);
  }
  for (const name of Object.keys(after.endpoints) as (keyof ResolvedProxyOptions['endpoints'])[]) {
    const [a, b] = [before.endpoints[name], after.endpoints[name]];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (a === undefined || b === undefined)
      changed.push(`endpoints.${name}: ${a ? 'cached' : 'off'} → ${b ? 'cached' : 'off'}`);
    else changed.push(`endpoints.${name}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  }
  return changed;
}

/** The cache options of a reload: an options object (the proxy's own cache), never another cache. */
function cacheOptionsOf(next: ProxyOptions, cache: ResponseCache, owns: boolean): CacheOptions {
  const given = next.cache;
  if (given === undefined || given === cache) return {};
  if (given instanceof ResponseCache) {
    throw invalid('A reload cannot replace the cache object; pass cache options, or call cache.useStore() yourself.');
  }
  if (given === null || typeof given !== 'object') throw invalid('cache must be cache options like { store: … }.');
  if (!owns && given.store !== undefined) {
    throw invalid('The proxy was given its cache, so it does not swap its store: call cache.useStore() on it.');
  }
  return given;
}

/**
 * Each cached endpoint's ttl after a reload: its own, or the cache-wide `ttl` (the cache's default is fixed when it
 * is created, so a reload that changes `ttl` states it on every endpoint that has none of its own).
 */
function withDefaultTtl(
  endpoints: ResolvedProxyOptions['endpoints'],
  ttl: number | null,
): ResolvedProxyOptions['endpoints'] {
  // Every endpoint, whatever the list holds: one left out here would silently lose its settings on a reload.
  const filled: Record<string, unknown> = {};
  for (const [name, endpoint] of Object.entries(endpoints)) {
    filled[name] = endpoint && endpoint.ttl === undefined ? { ...endpoint, ttl } : endpoint;
  }
  return filled as ResolvedProxyOptions['endpoints'];
}

/** The new store and its namespace secret, loaded before anything switches (closed again if it fails). */
async function openNextStore(
  url: CacheOptions['store'],
  current: ResolvedProxyOptions,
): Promise<{ store: CacheStore; secret: NamespaceSecret }> {
  const store = resolveStore(url);
  // The secret comes from the new store (other proxies on it agree on it), so namespaces match its entries.
  const secret = new NamespaceSecret(store, current.namespaceSecret, current.logger);
  if ((await secret.get()) === undefined) {
    await store.close().catch(() => {});
    throw new LlmemoError(
      'STORE_UNAVAILABLE',
      `the new store ${show(typeof url === 'string' ? url : store.type)} did not give the namespace secret (see the error above)`,
    );
  }
  return { store, secret };
}

/**
 * New upstreams (OpenAI and Anthropic) when their URL or timeout changed. Closing the old ones is graceful:
 * requests already sent (a long stream) finish on the old connections.
 */
function switchUpstreams(context: ProxyContext, current: ResolvedProxyOptions, after: ResolvedProxyOptions): void {
  const timeout = after.upstreamTimeoutMs !== current.upstreamTimeoutMs;
  const main = timeout || after.upstream.href !== current.upstream.href;
  const anthropic = timeout || after.anthropicUpstream.href !== current.anthropicUpstream.href;
  if (!main && !anthropic) return;
  const previous = new Set([context.upstream, context.anthropic]);
  const upstream = main ? new Upstream(after.upstream, after.upstreamTimeoutMs) : context.upstream;
  context.anthropic =
    after.anthropicUpstream.href === after.upstream.href
      ? upstream
      : anthropic
        ? new Upstream(after.anthropicUpstream, after.upstreamTimeoutMs)
        : context.anthropic;
  context.upstream = upstream;
  for (const old of previous) {
    if (old !== context.upstream && old !== context.anthropic) void old.close().catch(() => {});
  }
}

/**
 * Applies new options to a running proxy without dropping a connection: everything is validated (and a new store
 * opened and asked for its namespace secret) before anything switches, so an invalid configuration throws and the
 * running one stays. Then the store is swapped (`cache.useStore`: requests in flight finish on the old one), a new
 * upstream takes new requests while the old one finishes its own, and routes read the new options from the next
 * request on.
 */
export async function reconfigure(
  context: ProxyContext,
  applied: ProxyOptions,
  next: ProxyOptions,
): Promise<Reconfigured> {
  const current = context.options;
  const cacheOptions = cacheOptionsOf(next, context.cache, current.ownsCache);
  const previousCache = cacheOptionsOf(applied, context.cache, current.ownsCache);
  const needsRestart: string[] = [];
  for (const name of Object.keys({ ...cacheOptions, ...previousCache }) as (keyof CacheOptions)[]) {
    if (LIVE_CACHE_OPTIONS.includes(name)) continue;
    if (show(cacheOptions[name]) !== show(previousCache[name])) needsRestart.push(`cache.${name}`);
  }
  if ((next.metrics ?? true) !== current.metrics) needsRestart.push('metrics');
  const resolved = resolveProxyOptions({ ...next, cache: context.cache, logger: current.logger });
  let endpoints = resolved.endpoints;
  if (current.ownsCache) {
    const ttl = cacheOptions.ttl === undefined ? DEFAULT_TTL_MS : parseTtl(cacheOptions.ttl, 'cache.ttl');
    endpoints = withDefaultTtl(endpoints, ttl);
  }
  const storeChanged =
    current.ownsCache && show(cacheOptions.store ?? 'memory://') !== show(previousCache.store ?? 'memory://');
  const opened = storeChanged ? await openNextStore(cacheOptions.store, current) : undefined;
  const after: ResolvedProxyOptions = {
    ...resolved,
    endpoints,
    // Not reloadable: the cache object, its tokens and secrets (read from the environment at start), the callbacks.
    cache: current.cache,
    ownsCache: current.ownsCache,
    namespaceSecret: current.namespaceSecret,
    namespaceTokenDigest: current.namespaceTokenDigest,
    adminToken: current.adminToken,
    ownTokens: current.ownTokens,
    accessLog: current.accessLog,
    metrics: current.metrics,
  };
  // The endpoints as they behave now: an endpoint without its own ttl uses the cache's default.
  const effective = { ...current, endpoints: withDefaultTtl(current.endpoints, current.cache.defaults.ttl) };
  const changed = differences(effective, after);
  if (opened) {
    // Throws INVALID_OPTIONS before switching for a store the cache cannot use; then nothing changed.
    try {
      void context.cache.useStore(opened.store);
    } catch (error) {
      await opened.store.close().catch(() => {});
      throw error;
    }
    context.secret = opened.secret;
    changed.unshift(`store: ${show(previousCache.store ?? 'memory://')} → ${show(cacheOptions.store)}`);
  }
  switchUpstreams(context, current, after);
  if (after.maxInflightBytes !== current.maxInflightBytes) context.budget = new BodyBudget(after.maxInflightBytes);
  context.options = after;
  return { changed, needsRestart };
}
