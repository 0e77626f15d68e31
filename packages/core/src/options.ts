import type { CacheOptions, Logger } from './cache-types.js';
import { DEFAULT_NORMALIZATION, NO_NORMALIZATION, type TextNormalization } from './canonicalize.js';
import { type Compression, resolveCompression } from './compression.js';
import { type CrossProcess, resolveCrossProcess } from './cross-process.js';
import { type Duration, MAX_TIMER_MS, parseDuration, parseTtl } from './duration.js';
import { type Keyring, resolveEncryption } from './encryption.js';
import { LlmemoError } from './errors.js';
import { DEFAULT_EXCLUDED_PARAMS, DEFAULT_HEADER_ALLOWLIST, type KeyDerivation } from './key.js';
import { isWellFormed, notWellFormed } from './labels.js';
import { type CacheMetrics, resolveMetrics } from './metrics.js';
import { type PriceTable, resolvePrices } from './stats.js';
import { type LocalTierOptions, resolveLocalTier } from './stores/local-tier.js';
import type { RedisStoreOptions } from './stores/redis.js';
import type { StoreInput } from './stores/resolve.js';
import type { SqliteStoreOptions } from './stores/sqlite.js';
import { isTransientError } from './transient.js';

export const CACHE_MODES = ['read-write', 'read-only', 'refresh', 'replay', 'off'] as const;
/**
 * - `read-write`: read, and write what was computed (default).
 * - `read-only`: read, never write.
 * - `refresh`: skip the read, compute, overwrite.
 * - `replay`: never compute: a miss throws `CACHE_MISS` (tests and evals).
 * - `off`: neither read nor write.
 */
export type CacheMode = (typeof CACHE_MODES)[number];

export type NormalizeOption = 'default' | 'none' | Partial<TextNormalization>;

/** Per-call overrides. Never part of the key. */
export interface CallOptions {
  mode?: CacheMode;
  ttl?: Duration | null;
  namespace?: string;
  /** Compute and return, but do not write this result. */
  noStore?: boolean;
  /** After expiry, serve the entry at once for this long (marked stale) while one background call refreshes it. */
  staleWhileRevalidate?: Duration;
  /** After expiry, serve the entry for this long when the provider call fails (5xx, timeout, rate limit). */
  staleIfError?: Duration;
}

export interface ResolvedCallOptions {
  mode: CacheMode;
  ttl: number | null;
  namespace: string;
  noStore: boolean;
  staleWhileRevalidate: number;
  staleIfError: number;
}

export const DEFAULT_TTL_MS = 7 * 86_400_000;
export const DEFAULT_TIMEOUT_MS = 100;
/**
 * A file:// store's default: its files are the recorded fixtures of a test run, where a read that timed out on a
 * loaded CI machine would be a CACHE_MISS in replay, not a cheap fallback to the provider.
 */
export const DEFAULT_FILE_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_ENTRY_BYTES = 8 * 1024 * 1024;
const MAX_NAMESPACE_LENGTH = 256;

function invalid(message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', message);
}

export function resolveMode(value: unknown, option = 'mode'): CacheMode {
  if (typeof value === 'string' && (CACHE_MODES as readonly string[]).includes(value)) return value as CacheMode;
  throw invalid(
    `${option} must be one of ${CACHE_MODES.map((m) => `'${m}'`).join(', ')}; got ${JSON.stringify(value)}.`,
  );
}

export function resolveNamespace(value: unknown, option = 'namespace'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAMESPACE_LENGTH) {
    throw invalid(
      `${option} must be a non-empty string of at most ${MAX_NAMESPACE_LENGTH} characters; got ${JSON.stringify(value)}.`,
    );
  }
  if (!isWellFormed(value)) throw invalid(notWellFormed(option, value));
  return value;
}

export function resolveTtl(value: unknown, option = 'ttl'): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw invalid(
      `${option} must be milliseconds, a duration like '1h' or '7d', or null for no expiry; got ${JSON.stringify(value)}.`,
    );
  }
  return parseTtl(value, option);
}

export function resolvePositiveInteger(
  value: unknown,
  option: string,
  { allowZero = false, max = Number.MAX_SAFE_INTEGER, maxLabel = '' } = {},
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw invalid(
      `${option} must be a ${allowZero ? 'non-negative' : 'positive'} integer; got ${JSON.stringify(value)}.`,
    );
  }
  if (value > max) throw invalid(`${option} must be at most ${max}${maxLabel ? ` (${maxLabel})` : ''}; got ${value}.`);
  return value;
}

export const TIMER_BOUND = Object.freeze({ max: MAX_TIMER_MS, maxLabel: 'about 24.8 days, the longest Node timer' });

/** A duration that drives a timer (persistStats, pruneInterval, timeoutMs): at most MAX_TIMER_MS. */
export function resolveTimerDuration(value: Duration, option: string): number {
  return parseDuration(value, option, { max: MAX_TIMER_MS });
}

export function resolveNormalization(value: unknown): TextNormalization | null {
  if (value === undefined || value === 'default') return DEFAULT_NORMALIZATION;
  if (value === 'none') return null;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const known = Object.keys(DEFAULT_NORMALIZATION);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        throw invalid(
          `normalize has no option '${key}'; use ${known.map((k) => `'${k}'`).join(', ')}, or 'default' or 'none'.`,
        );
      }
      if (typeof (value as Record<string, unknown>)[key] !== 'boolean') {
        throw invalid(`normalize.${key} must be true or false.`);
      }
    }
    const merged = { ...DEFAULT_NORMALIZATION, ...(value as Partial<TextNormalization>) };
    const off = Object.values(merged).every((flag) => flag === false);
    return off ? NO_NORMALIZATION : merged;
  }
  throw invalid(
    `normalize must be 'default', 'none' or an object of flags (unicode, lineEndings, trim, collapseWhitespace); got ${JSON.stringify(value)}.`,
  );
}

const CALL_OPTION_NAMES = ['mode', 'ttl', 'namespace', 'noStore', 'staleWhileRevalidate', 'staleIfError'];

/** Validates per-call options (e.g. from `providerOptions.llmemo`) against the cache defaults. */
export function resolveCallOptions(
  options: CallOptions | undefined,
  defaults: ResolvedCallOptions,
  source = 'call options',
): ResolvedCallOptions {
  if (options === undefined || options === null) return defaults;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${source} must be an object.`);
  }
  for (const key of Object.keys(options)) {
    if (!CALL_OPTION_NAMES.includes(key) && (options as Record<string, unknown>)[key] !== undefined) {
      throw invalid(`${source} has no option '${key}'; use ${CALL_OPTION_NAMES.map((n) => `'${n}'`).join(', ')}.`);
    }
  }
  const resolved = { ...defaults };
  if (options.mode !== undefined) resolved.mode = resolveMode(options.mode, `${source}.mode`);
  if (options.ttl !== undefined) resolved.ttl = resolveTtl(options.ttl, `${source}.ttl`);
  if (options.namespace !== undefined) resolved.namespace = resolveNamespace(options.namespace, `${source}.namespace`);
  if (options.noStore !== undefined) {
    if (typeof options.noStore !== 'boolean') throw invalid(`${source}.noStore must be true or false.`);
    resolved.noStore = options.noStore;
  }
  if (options.staleWhileRevalidate !== undefined) {
    resolved.staleWhileRevalidate = parseDuration(options.staleWhileRevalidate, `${source}.staleWhileRevalidate`);
  }
  if (options.staleIfError !== undefined) {
    resolved.staleIfError = parseDuration(options.staleIfError, `${source}.staleIfError`);
  }
  return resolved;
}

export { parseDuration };

// ---------------------------------------------------------------- createCache options

const CACHE_OPTION_NAMES: ReadonlySet<string> = new Set<keyof CacheOptions>([
  'store',
  'namespace',
  'ttl',
  'mode',
  'normalize',
  'timeoutMs',
  'maxEntryBytes',
  'maxEntries',
  'maxBytes',
  'compression',
  'encryption',
  'metrics',
  'prices',
  'persistStats',
  'recordRequest',
  'pruneInterval',
  'logger',
  'key',
  'excludeParams',
  'includeHeaders',
  'sqlite',
  'redis',
  'staleWhileRevalidate',
  'staleIfError',
  'isTransientError',
  'breaker',
  'crossProcessCoalescing',
  'local',
]);

export const DEFAULT_STATS_INTERVAL_MS = 10_000;
export const DEFAULT_PRUNE_INTERVAL_MS = 3_600_000;

/** Everything `createCache` options say, validated and with defaults applied; nothing here touches a store. */
export interface ResolvedCacheConfig {
  readonly namespace: string;
  readonly defaults: Readonly<ResolvedCallOptions>;
  readonly timeoutMs: number;
  readonly maxEntryBytes: number;
  readonly derivation: KeyDerivation;
  readonly recordRequest: boolean;
  readonly keyring: Keyring | undefined;
  readonly compression: Compression | undefined;
  readonly metrics: CacheMetrics | undefined;
  readonly prices: PriceTable | undefined;
  /** Send counter deltas to the store every this many ms; undefined keeps counters in this process only. */
  readonly statsIntervalMs: number | undefined;
  /** Prune on this interval; 0 never; undefined the store's default (hourly for memory:// and sqlite://). */
  readonly pruneIntervalMs: number | undefined;
  /** maxEntries/maxBytes, for the stores that bound themselves. */
  readonly bounds: Readonly<{ maxEntries?: number; maxBytes?: number }> | undefined;
  readonly store: StoreInput | undefined;
  readonly sqlite: SqliteStoreOptions | undefined;
  readonly redis: RedisStoreOptions | undefined;
  /** The in-process tier in front of a shared store; undefined when off. */
  readonly local: Readonly<Required<LocalTierOptions>> | undefined;
  readonly isTransientError: (error: unknown) => boolean;
  readonly breaker: Readonly<{ threshold: number; cooldownMs: number }> | undefined;
  readonly crossProcess: CrossProcess | undefined;
  readonly logger: Logger | undefined;
}

/** Validates `createCache` options (throws INVALID_OPTIONS) and resolves them into one frozen config. */
export function resolveCacheOptions(options: CacheOptions = {}): ResolvedCacheConfig {
  if (options === null || typeof options !== 'object') {
    throw invalid('createCache(options) takes an options object.');
  }
  for (const name of Object.keys(options)) {
    if (!CACHE_OPTION_NAMES.has(name)) {
      throw invalid(
        `createCache has no option '${name}'; the options are ${[...CACHE_OPTION_NAMES].map((n) => `'${n}'`).join(', ')}.`,
      );
    }
  }
  const namespace = resolveNamespace(options.namespace ?? 'default');
  const defaults = resolveCallDefaults(options, namespace);
  if (options.isTransientError !== undefined && typeof options.isTransientError !== 'function') {
    throw invalid('isTransientError must be a function (error) => boolean.');
  }
  const breaker = resolveBreakerSettings(options.breaker);
  const crossProcess = resolveCrossProcess(options.crossProcessCoalescing);
  const fileStore = typeof options.store === 'string' && /^\s*file:\/\//i.test(options.store);
  const timeoutMs = resolvePositiveInteger(
    options.timeoutMs ?? (fileStore ? DEFAULT_FILE_TIMEOUT_MS : DEFAULT_TIMEOUT_MS),
    'timeoutMs',
    TIMER_BOUND,
  );
  const maxEntryBytes = resolvePositiveInteger(options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES, 'maxEntryBytes');
  if (options.key !== undefined && typeof options.key !== 'function') {
    throw invalid('key must be a function (request) => string.');
  }
  if (options.logger !== undefined && (options.logger === null || typeof options.logger !== 'object')) {
    throw invalid('logger must be an object with debug/info/warn/error methods, such as console.');
  }
  const keyring = resolveEncryption(options.encryption);
  const recordRequest = resolveRecordRequest(options.recordRequest, keyring !== undefined);
  return Object.freeze({
    recordRequest,
    namespace,
    defaults,
    timeoutMs,
    maxEntryBytes,
    derivation: resolveDerivation(options, keyring),
    keyring,
    compression: resolveCompression(options.compression),
    metrics: resolveMetrics(options.metrics),
    prices: resolvePrices(options.prices),
    statsIntervalMs: resolveStatsInterval(options.persistStats),
    pruneIntervalMs: resolvePruneInterval(options.pruneInterval),
    bounds: resolveBounds(options),
    store: options.store,
    sqlite: options.sqlite,
    redis: options.redis,
    local: resolveLocalTier(options.local),
    isTransientError: options.isTransientError ?? isTransientError,
    breaker,
    crossProcess,
    logger: options.logger,
  });
}

function resolveRecordRequest(option: unknown, encrypted: boolean): boolean {
  if (option !== undefined && typeof option !== 'boolean') throw invalid('recordRequest must be true or false.');
  if (option === true && encrypted) {
    throw invalid(
      'recordRequest keeps prompts in the clear beside each answer, which encryption exists to prevent: use one or the other.',
    );
  }
  return option === true;
}

function resolveCallDefaults(options: CacheOptions, namespace: string): Readonly<ResolvedCallOptions> {
  return Object.freeze({
    mode: resolveMode(options.mode ?? 'read-write'),
    ttl: options.ttl === undefined ? DEFAULT_TTL_MS : resolveTtl(options.ttl),
    namespace,
    noStore: false,
    staleWhileRevalidate:
      options.staleWhileRevalidate === undefined
        ? 0
        : parseDuration(options.staleWhileRevalidate, 'staleWhileRevalidate'),
    staleIfError: options.staleIfError === undefined ? 0 : parseDuration(options.staleIfError, 'staleIfError'),
  });
}

function resolveBreakerSettings(option: CacheOptions['breaker']): ResolvedCacheConfig['breaker'] {
  if (option === false) return undefined;
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw invalid("breaker must be false or { threshold?: number, cooldown?: '5s' }.");
  }
  return Object.freeze({
    threshold: resolvePositiveInteger(option?.threshold ?? 5, 'breaker.threshold'),
    cooldownMs: option?.cooldown === undefined ? 5000 : parseDuration(option.cooldown, 'breaker.cooldown'),
  });
}

function stringList(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw invalid(`${option} must be an array of strings.`);
  }
  return value;
}

function resolveDerivation(options: CacheOptions, keyring: Keyring | undefined): KeyDerivation {
  return {
    // With encryption on, digests are keyed (HMAC) so key names cannot confirm a guessed prompt offline.
    digestKeys: keyring?.digestKeys,
    normalization: resolveNormalization(options.normalize),
    excludedParams: new Set([...DEFAULT_EXCLUDED_PARAMS, ...stringList(options.excludeParams, 'excludeParams')]),
    headerAllowlist: new Set(
      [...DEFAULT_HEADER_ALLOWLIST, ...stringList(options.includeHeaders, 'includeHeaders')].map((h) =>
        h.toLowerCase(),
      ),
    ),
    custom: options.key,
  };
}

function resolveStatsInterval(option: CacheOptions['persistStats']): number | undefined {
  const persist = option ?? true;
  if (persist !== true && persist !== false && typeof persist !== 'string' && typeof persist !== 'number') {
    throw invalid("persistStats must be true, false or an interval such as '30s'.");
  }
  if (persist === false) return undefined;
  return persist === true ? DEFAULT_STATS_INTERVAL_MS : resolveTimerDuration(persist, 'persistStats');
}

function resolvePruneInterval(option: CacheOptions['pruneInterval']): number | undefined {
  if (option === undefined) return undefined;
  return option === false ? 0 : resolveTimerDuration(option, 'pruneInterval');
}

function resolveBounds(options: CacheOptions): ResolvedCacheConfig['bounds'] {
  if (options.maxEntries === undefined && options.maxBytes === undefined) return undefined;
  const bounds: { maxEntries?: number; maxBytes?: number } = {};
  if (options.maxEntries !== undefined) bounds.maxEntries = resolvePositiveInteger(options.maxEntries, 'maxEntries');
  if (options.maxBytes !== undefined) bounds.maxBytes = resolvePositiveInteger(options.maxBytes, 'maxBytes');
  return Object.freeze(bounds);
}
