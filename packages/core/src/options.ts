import { DEFAULT_NORMALIZATION, NO_NORMALIZATION, type TextNormalization } from './canonicalize.js';
import { type Duration, MAX_TIMER_MS, parseDuration, parseTtl } from './duration.js';
import { LlmemoError } from './errors.js';
import { isWellFormed, notWellFormed } from './labels.js';

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
