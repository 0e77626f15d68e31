import { LlmemoError } from './errors.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i;

export type Duration = number | string;

/**
 * Parses '90s', '15m', '1h', '7d', '250ms' or a number of milliseconds.
 * Hand-written rather than `ms`: that package accepts 'years' and loose spellings we would then have to support.
 */
export function parseDuration(value: Duration, option: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `${option} must be a non-negative number of milliseconds or a duration like '90s', '15m', '1h', '7d'; got ${String(value)}.`,
      );
    }
    return value;
  }
  if (typeof value === 'string') {
    const match = DURATION.exec(value);
    if (match) {
      const unit = UNITS[match[2]!.toLowerCase()]!;
      return Math.round(Number(match[1]) * unit);
    }
  }
  throw new LlmemoError(
    'INVALID_OPTIONS',
    `${option} must be milliseconds or a duration such as '90s', '15m', '1h' or '7d' (units: ms, s, m, h, d, w); got ${JSON.stringify(value)}.`,
  );
}

/** Like parseDuration, but `null` means "never expires". */
export function parseTtl(value: Duration | null, option = 'ttl'): number | null {
  if (value === null) return null;
  return parseDuration(value, option);
}
