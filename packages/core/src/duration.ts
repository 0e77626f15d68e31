import { LlmemoError } from './errors.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^\s*(\d+)(?:\.(\d+))?\s*(ms|s|m|h|d|w)\s*$/i;

export type Duration = number | string;

/**
 * The longest time to live, stale window or age filter: 100 years (365.25-day years). Every store takes it as a
 * whole number of milliseconds (Redis `PX`, SQLite integer `expires`, the memory store's timestamps), and
 * `Date.now()` plus a TTL plus both stale windows stays an exact integer in a JS number. Longer is refused rather
 * than clamped: use `null` for "never expires".
 */
export const MAX_DURATION_MS = 3_155_760_000_000;

/**
 * The longest duration that drives a timer (`setTimeout`/`setInterval`): 2^31 - 1 ms, about 24.8 days. Node fires
 * a longer timer after 1 ms instead, which would turn `pruneInterval: '52w'` into a prune every millisecond.
 */
export const MAX_TIMER_MS = 2_147_483_647;

export interface DurationBounds {
  /** Inclusive upper bound in ms (default MAX_DURATION_MS). */
  max?: number;
  /** What the bound is, for the error message (default: "100 years"). */
  maxLabel?: string;
}

function describeBound(bounds: DurationBounds | undefined): { max: number; label: string } {
  const max = bounds?.max ?? MAX_DURATION_MS;
  const label = bounds?.maxLabel ?? (max === MAX_TIMER_MS ? 'about 24.8 days, the longest Node timer' : '100 years');
  return { max, label };
}

function invalid(option: string, message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', `${option} ${message}`);
}

/** Milliseconds of '1.5s'-style text, exactly (no float rounding); undefined when it is not whole milliseconds. */
function textMs(whole: string, fraction: string | undefined, unit: number): bigint | undefined {
  const digits = fraction ?? '';
  const scaled = BigInt(whole + digits) * BigInt(unit);
  const divisor = 10n ** BigInt(digits.length);
  return scaled % divisor === 0n ? scaled / divisor : undefined;
}

/**
 * Parses '90s', '15m', '1h', '7d', '250ms' or a number of milliseconds into whole milliseconds within `bounds`.
 * Fractions of a millisecond and durations past the bound throw INVALID_OPTIONS naming the bound: a store would
 * refuse every write with them (Redis answers "invalid expire time" to `PX 0.4` or `PX 1e+300`), silently.
 * Hand-written rather than `ms`: that package accepts 'years' and loose spellings we would then have to support.
 */
export function parseDuration(value: Duration, option: string, bounds?: DurationBounds): number {
  const { max, label } = describeBound(bounds);
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw invalid(
        option,
        `must be a non-negative number of milliseconds or a duration like '90s', '15m', '1h', '7d'; got ${String(value)}.`,
      );
    }
    if (!Number.isInteger(value)) {
      throw invalid(option, `must be a whole number of milliseconds; got ${String(value)}.`);
    }
    ms = value;
  } else {
    const match = typeof value === 'string' ? DURATION.exec(value) : null;
    if (!match) {
      throw invalid(
        option,
        `must be milliseconds or a duration such as '90s', '15m', '1h' or '7d' (units: ms, s, m, h, d, w); got ${JSON.stringify(value)}.`,
      );
    }
    const exact = textMs(match[1]!, match[2], UNITS[match[3]!.toLowerCase()]!);
    if (exact === undefined) {
      throw invalid(option, `must be a whole number of milliseconds; ${JSON.stringify(value)} is not.`);
    }
    if (exact > BigInt(max)) {
      throw invalid(option, `must be at most ${max} ms (${label}); got ${JSON.stringify(value)}.`);
    }
    ms = Number(exact);
  }
  if (ms > max) throw invalid(option, `must be at most ${max} ms (${label}); got ${String(value)}.`);
  return ms;
}

/** Like parseDuration, but `null` means "never expires". */
export function parseTtl(value: Duration | null, option = 'ttl'): number | null {
  if (value === null) return null;
  return parseDuration(value, option, { maxLabel: '100 years; use null for entries that never expire' });
}
