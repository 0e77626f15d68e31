import {
  type CacheOptions,
  createCache,
  type Duration,
  type Logger,
  parseDuration,
  parseTtl,
  ResponseCache,
} from '@llmemo/core';
import type { AccessLogEntry } from './access-log.js';
import { CREDENTIAL_HEADERS, CREDENTIAL_PARAMS, type CredentialNames } from './credentials.js';
import { NAMESPACE_SECRET_ENV } from './namespace-secret.js';
import { boolean, invalid, label, names, positiveInteger, secret } from './option-values.js';
import { DERIVED_PREFIX, secretDigest } from './tenancy.js';

/** The endpoints the proxy can cache. Every other path is passed through untouched and never cached. */
export const CACHEABLE_ENDPOINTS = ['chat', 'messages', 'embeddings', 'images', 'models'] as const;
export type CacheableEndpoint = (typeof CACHEABLE_ENDPOINTS)[number];

export interface EndpointOptions {
  /** How long this endpoint's entries stay fresh (ms, '90s', '1h', '7d'; null = never). Default: the cache's ttl. */
  ttl?: Duration | null;
}

export interface ImageEndpointOptions extends EndpointOptions {
  /** Also cache requests with `n > 1` (the same prompt then always gives the same images). Default false. */
  cacheMultiple?: boolean;
  /** Cap on the ttl of answers that hold image URLs, which the provider expires (OpenAI: after 1 hour). Default '50m'. */
  urlTtl?: Duration;
}

export interface ProxyEndpoints {
  /** POST /v1/chat/completions, streamed and not. Default on. */
  chat?: boolean | EndpointOptions;
  /** POST /v1/messages (the Anthropic Messages API, sent to `anthropicUpstream`), streamed and not. Default on. */
  messages?: boolean | EndpointOptions;
  /** POST /v1/embeddings, cached per input. Default on. */
  embeddings?: boolean | EndpointOptions;
  /** POST /v1/images/generations (`n = 1` only by default) and /v1/images/edits (`n = 1` only). Default on. */
  images?: boolean | ImageEndpointOptions;
  /** GET /v1/models. Default on with a ttl of '5m'. */
  models?: boolean | EndpointOptions;
}

export type ReplayPacing = 'instant' | 'recorded' | number;

export interface ProxyOptions {
  /** The OpenAI-compatible server to forward to, e.g. 'https://api.openai.com' or 'http://localhost:8000/v1'. */
  upstream: string | URL;
  /**
   * Where POST /v1/messages (and everything else under /v1/messages) goes: an Anthropic Messages API, e.g.
   * 'https://api.anthropic.com'. Default: `upstream` (a gateway that speaks both), so no request reaches a host
   * you did not name.
   */
  anthropicUpstream?: string | URL;
  /**
   * A cache you created (the proxy never closes it), or options for one (the proxy creates and closes it).
   * Default `{ store: 'memory://' }`.
   */
  cache?: ResponseCache | CacheOptions;
  /** Which endpoints cache, and their ttls. `false` turns one off (it is then passed through). */
  endpoints?: ProxyEndpoints;
  /** The provider label in keys. Default: the upstream host, so two upstreams serving one model id never mix. */
  provider?: string;
  /**
   * Honor the `x-llmemo-namespace` request header: a sub-namespace inside the caller's own credential namespace
   * (it can never reach another credential's entries). Default true.
   */
  namespaceHeader?: boolean;
  /**
   * A shared namespace for requests that carry no recognised credential. Default none: such requests go upstream
   * uncached (`X-Cache: BYPASS`), because anyone who can reach the proxy could read and write a shared namespace.
   */
  anonymousNamespace?: string;
  /**
   * The secret per-credential namespaces are derived with (HMAC-SHA-256). Default: LLMEMO_NAMESPACE_SECRET, or one
   * generated on first start and kept in the store (every proxy on one store then agrees).
   */
  namespaceSecret?: string;
  /**
   * A token (at least 16 characters) that lets a trusted caller name a shared namespace outright: requests sending
   * `x-llmemo-namespace-token: <token>` use `x-llmemo-namespace` as the namespace itself, e.g. to share entries with
   * a TypeScript app on the same store. The CLI reads LLMEMO_NAMESPACE_TOKEN. Default none.
   */
  namespaceToken?: string;
  /** More request headers that carry credentials (added to Authorization, x-api-key, api-key, x-goog-api-key, …). */
  credentialHeaders?: string[];
  /** More query parameters that carry credentials (added to `api-key` and `key`). */
  credentialParams?: string[];
  /** Store answers whose finish_reason is `content_filter`. Default false (the next try may not be filtered). */
  cacheContentFilter?: boolean;
  /** Most request-body bytes held at once across requests; past it a request gets 503 with retry-after. Default 4 × maxBodyBytes. */
  maxInflightBytes?: number;
  /** A request body must arrive within this long (ms), or the request gets 408. Default 60000. */
  bodyTimeoutMs?: number;
  /** Called with one entry per request once its response is finished (method, path, status, X-Cache, timings, …). */
  accessLog?: (entry: AccessLogEntry) => void;
  /** More top-level body fields to leave out of keys (the defaults are `user`, `safety_identifier`, `prompt_cache_key`). */
  ignoreParams?: string[];
  /** Larger request bodies on cached endpoints get a 413. Default 32 MiB. Passed-through requests are streamed, not held. */
  maxBodyBytes?: number;
  /** How a cached stream is replayed: 'instant' (default), 'recorded' (original timing) or a fixed delay in ms per event. */
  replay?: ReplayPacing;
  /** Bearer token for /admin/*; the admin API is off without one. The CLI reads LLMEMO_ADMIN_TOKEN. */
  adminToken?: string;
  /** Serve GET /metrics in Prometheus format. Default true. */
  metrics?: boolean;
  /** Give up on an upstream that sends no response headers, or stalls mid-body, for this long. Default 10 minutes. */
  upstreamTimeoutMs?: number;
  /**
   * While the upstream fails (unreachable, timeout, 5xx, 429), answer from an entry up to this long past expiry,
   * marked X-Cache: STALE. Entries are kept this much longer in the store.
   */
  staleIfError?: Duration;
  logger?: Logger;
}

export interface ResolvedEndpoint {
  /** undefined: the cache's default ttl. */
  ttl: number | null | undefined;
}

export interface ResolvedProxyOptions {
  upstream: URL;
  anthropicUpstream: URL;
  cache: ResponseCache;
  ownsCache: boolean;
  endpoints: {
    chat: ResolvedEndpoint | undefined;
    messages: ResolvedEndpoint | undefined;
    embeddings: ResolvedEndpoint | undefined;
    images: (ResolvedEndpoint & { cacheMultiple: boolean; urlTtl: number }) | undefined;
    models: ResolvedEndpoint | undefined;
  };
  provider: string;
  namespaceHeader: boolean;
  anonymousNamespace: string | undefined;
  namespaceSecret: string | undefined;
  namespaceTokenDigest: Buffer | undefined;
  credentials: CredentialNames;
  cacheContentFilter: boolean;
  maxInflightBytes: number;
  bodyTimeoutMs: number;
  accessLog: ((entry: AccessLogEntry) => void) | undefined;
  /** Digests of the proxy's own tokens (admin, namespace): a request carrying one as a credential is refused. */
  ownTokens: Buffer[];
  ignoreParams: ReadonlySet<string>;
  maxBodyBytes: number;
  replay: ReplayPacing;
  adminToken: string | undefined;
  metrics: boolean;
  upstreamTimeoutMs: number;
  staleIfError: number | undefined;
  logger: Logger | undefined;
}

/** Body fields that never change a model's output: end-user ids for abuse monitoring and OpenAI's own cache hint. */
export const DEFAULT_IGNORED_PARAMS: readonly string[] = Object.freeze([
  'user',
  'safety_identifier',
  'prompt_cache_key',
]);
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MODELS_TTL_MS = 5 * 60_000;
export const DEFAULT_IMAGE_URL_TTL_MS = 50 * 60_000;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_BODY_TIMEOUT_MS = 60_000;

const OPTION_NAMES = [
  'upstream',
  'anthropicUpstream',
  'cache',
  'endpoints',
  'provider',
  'namespaceHeader',
  'anonymousNamespace',
  'namespaceSecret',
  'namespaceToken',
  'credentialHeaders',
  'credentialParams',
  'cacheContentFilter',
  'maxInflightBytes',
  'bodyTimeoutMs',
  'accessLog',
  'ignoreParams',
  'maxBodyBytes',
  'replay',
  'adminToken',
  'metrics',
  'upstreamTimeoutMs',
  'staleIfError',
  'logger',
];

function resolveUpstream(value: unknown, option = 'upstream'): URL {
  if (value === undefined || value === '') {
    throw invalid(
      "createProxy needs `upstream`, the OpenAI-compatible server to forward to, e.g. 'https://api.openai.com'.",
    );
  }
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalid(`${option} must be an http(s) URL such as 'https://api.openai.com'; got ${JSON.stringify(value)}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`${option} must be an http:// or https:// URL; got ${JSON.stringify(String(value))}.`);
  }
  if (url.search || url.hash) {
    throw invalid(`${option} must not have a query or fragment; got ${JSON.stringify(String(value))}.`);
  }
  return url;
}

function endpoint(
  value: unknown,
  name: CacheableEndpoint,
  extra: readonly string[] = [],
  defaultTtl?: number,
): ResolvedEndpoint | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) return { ttl: defaultTtl };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`endpoints.${name} must be true, false or an options object like { ttl: '1h' }.`);
  }
  const allowed = ['ttl', ...extra];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalid(`endpoints.${name} has no option '${key}'; use ${allowed.map((a) => `'${a}'`).join(', ')}.`);
    }
  }
  const ttl = (value as EndpointOptions).ttl;
  return { ttl: ttl === undefined ? defaultTtl : parseTtl(ttl, `endpoints.${name}.ttl`) };
}

function resolveEndpoints(value: unknown): ResolvedProxyOptions['endpoints'] {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw invalid(`endpoints must be an object with any of ${CACHEABLE_ENDPOINTS.map((e) => `'${e}'`).join(', ')}.`);
  }
  const given = (value ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(CACHEABLE_ENDPOINTS as readonly string[]).includes(key)) {
      throw invalid(
        `endpoints has no '${key}'; the cacheable endpoints are ${CACHEABLE_ENDPOINTS.map((e) => `'${e}'`).join(', ')} (everything else is passed through).`,
      );
    }
  }
  const images = endpoint(given.images, 'images', ['cacheMultiple', 'urlTtl']);
  const imageOptions = (typeof given.images === 'object' ? given.images : {}) as ImageEndpointOptions;
  return {
    chat: endpoint(given.chat, 'chat'),
    messages: endpoint(given.messages, 'messages'),
    embeddings: endpoint(given.embeddings, 'embeddings'),
    images: images && {
      ...images,
      cacheMultiple: boolean(imageOptions.cacheMultiple, 'endpoints.images.cacheMultiple', false),
      urlTtl:
        imageOptions.urlTtl === undefined
          ? DEFAULT_IMAGE_URL_TTL_MS
          : parseDuration(imageOptions.urlTtl, 'endpoints.images.urlTtl'),
    },
    models: endpoint(given.models, 'models', [], DEFAULT_MODELS_TTL_MS),
  };
}

function resolveReplay(value: unknown): ReplayPacing {
  if (value === undefined) return 'instant';
  if (value === 'instant' || value === 'recorded') return value;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw invalid(
    `replay must be 'instant', 'recorded' or a delay in ms between events (a number >= 0); got ${JSON.stringify(value)}.`,
  );
}

function anonymous(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const name = label(value, 'anonymousNamespace', '');
  if (name.startsWith(DERIVED_PREFIX) || name.includes('/')) {
    throw invalid(
      `anonymousNamespace cannot start with '${DERIVED_PREFIX}' or hold '/': those name credential namespaces and sub-namespaces.`,
    );
  }
  return name;
}

function checkOptionNames(options: ProxyOptions): void {
  if (options === null || typeof options !== 'object') {
    throw invalid("createProxy(options) takes an options object, e.g. { upstream: 'https://api.openai.com' }.");
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.includes(name)) {
      throw invalid(
        `createProxy has no option '${name}'; the options are ${OPTION_NAMES.map((n) => `'${n}'`).join(', ')}.`,
      );
    }
  }
}

function ignoredParams(value: unknown): string[] {
  const ignoreParams = value ?? [];
  if (!Array.isArray(ignoreParams) || ignoreParams.some((p) => typeof p !== 'string')) {
    throw invalid('ignoreParams must be an array of body field names.');
  }
  return ignoreParams;
}

function checkAccessLog(value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw invalid('accessLog must be a function that takes one entry per request.');
  }
}

function checkLogger(value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw invalid('logger must be an object with debug/info/warn/error methods, such as console.');
  }
}

/** Everything but the cache, validated in the order the options are documented. */
function resolveSettings(options: ProxyOptions): Omit<ResolvedProxyOptions, 'cache' | 'ownsCache'> {
  const upstream = resolveUpstream(options.upstream);
  const anthropicUpstream =
    options.anthropicUpstream === undefined || options.anthropicUpstream === ''
      ? upstream
      : resolveUpstream(options.anthropicUpstream, 'anthropicUpstream');
  const endpoints = resolveEndpoints(options.endpoints);
  const ignoreParams = ignoredParams(options.ignoreParams);
  const adminToken = secret(options.adminToken, 'adminToken');
  const namespaceToken = secret(options.namespaceToken, 'namespaceToken');
  const namespaceSecret = secret(options.namespaceSecret ?? process.env[NAMESPACE_SECRET_ENV], 'namespaceSecret');
  checkAccessLog(options.accessLog);
  const maxBodyBytes = positiveInteger(options.maxBodyBytes, 'maxBodyBytes', DEFAULT_MAX_BODY_BYTES);
  const staleIfError =
    options.staleIfError === undefined ? undefined : parseDuration(options.staleIfError, 'staleIfError');
  checkLogger(options.logger);
  return {
    upstream,
    anthropicUpstream,
    endpoints,
    provider: label(options.provider, 'provider', upstream.host),
    namespaceHeader: boolean(options.namespaceHeader, 'namespaceHeader', true),
    anonymousNamespace: anonymous(options.anonymousNamespace),
    namespaceSecret,
    namespaceTokenDigest: namespaceToken === undefined ? undefined : secretDigest(namespaceToken),
    credentials: {
      headers: [...CREDENTIAL_HEADERS, ...names(options.credentialHeaders, 'credentialHeaders', true)],
      params: [...CREDENTIAL_PARAMS, ...names(options.credentialParams, 'credentialParams', false)],
    },
    cacheContentFilter: boolean(options.cacheContentFilter, 'cacheContentFilter', false),
    maxInflightBytes: positiveInteger(options.maxInflightBytes, 'maxInflightBytes', 4 * maxBodyBytes),
    bodyTimeoutMs: positiveInteger(options.bodyTimeoutMs, 'bodyTimeoutMs', DEFAULT_BODY_TIMEOUT_MS),
    accessLog: options.accessLog,
    ownTokens: [adminToken, namespaceToken].filter((t): t is string => t !== undefined).map(secretDigest),
    ignoreParams: new Set([...DEFAULT_IGNORED_PARAMS, ...ignoreParams]),
    maxBodyBytes,
    replay: resolveReplay(options.replay),
    adminToken,
    metrics: boolean(options.metrics, 'metrics', true),
    upstreamTimeoutMs: positiveInteger(options.upstreamTimeoutMs, 'upstreamTimeoutMs', DEFAULT_UPSTREAM_TIMEOUT_MS),
    staleIfError,
    logger: options.logger,
  };
}

/** The cache given, or one created from cache options (it then gets the proxy's logger unless it names its own). */
function resolveCache(options: ProxyOptions): Pick<ResolvedProxyOptions, 'cache' | 'ownsCache'> {
  const given = options.cache;
  if (given instanceof ResponseCache) return { cache: given, ownsCache: false };
  if (given !== undefined && (given === null || typeof given !== 'object')) {
    throw invalid("cache must be a ResponseCache from createCache() or cache options like { store: 'redis://…' }.");
  }
  const cacheOptions: CacheOptions = { ...(given as CacheOptions | undefined) };
  if (cacheOptions.logger === undefined && options.logger !== undefined) cacheOptions.logger = options.logger;
  return { cache: createCache(cacheOptions), ownsCache: true };
}

/** Validates everything up front, so a bad option fails at createProxy and never at the first request. */
export function resolveProxyOptions(options: ProxyOptions): ResolvedProxyOptions {
  checkOptionNames(options);
  const resolved = resolveSettings(options);
  // The cache comes last: creating one opens store connections, which a bad option above must not leave behind.
  return { ...resolved, ...resolveCache(options) };
}
