import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { BadRequest } from './errors.js';

/**
 * A request body parsed as the upstream will read it, or why it cannot be keyed faithfully (the request then goes
 * upstream uncached). JSON.parse alone is not that: it rounds integers past 2^53 together (`seed` …993 and …992
 * would share an entry), keeps the last of duplicate keys where other parsers keep the first, and replaces
 * invalid UTF-8.
 */
export type BodyParse = { body: unknown; unkeyable?: undefined } | { body?: undefined; unkeyable: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What a scan of the text found that JSON.parse would hide. */
interface Scan {
  /** Object members in the text: more than the parsed objects hold means duplicate keys. */
  keys: number;
  /** An integer literal of 16 or more digits (past 2^53 it is not a double), or a number with an exponent. */
  exact: boolean;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * One pass over valid JSON text (JSON.parse accepted it). Outside strings a `"` always opens a string, so string
 * boundaries are exact; a string followed by `:` is a key. Plain loop rather than a regex: base64 image strings of
 * many megabytes would overflow a backtracking regex.
 */
function scan(text: string): Scan {
  let keys = 0;
  let exact = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 34) {
      // Skip to the closing quote, honouring escapes.
      let j = i + 1;
      for (; j < length; j++) {
        const c = text.charCodeAt(j);
        if (c === 92) j++;
        else if (c === 34) break;
      }
      let k = j + 1;
      while (
        k < length &&
        (text.charCodeAt(k) === 32 ||
          text.charCodeAt(k) === 10 ||
          text.charCodeAt(k) === 13 ||
          text.charCodeAt(k) === 9)
      )
        k++;
      if (text.charCodeAt(k) === 58) keys++;
      i = j;
    } else if (code === 45 || isDigit(code)) {
      let j = i + (code === 45 ? 1 : 0);
      let digits = 0;
      while (j < length && isDigit(text.charCodeAt(j))) {
        j++;
        digits++;
      }
      let fraction = false;
      while (j < length) {
        const c = text.charCodeAt(j);
        if (c === 101 || c === 69) exact = true;
        else if (c === 46) fraction = true;
        else if (!(isDigit(c) || c === 43 || c === 45)) break;
        j++;
      }
      if (digits >= 16 && !fraction) exact = true;
      i = j - 1;
    }
  }
  return { keys, exact };
}

/** Counts the members of every object in a parsed value. */
function members(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += members(item);
    return count;
  }
  for (const key in value) {
    count += 1 + members((value as Record<string, unknown>)[key]);
  }
  return count;
}

/** Numbers as the upstream reads them: an integer past 2^53 as a bigint (exact), everything else a double. */
function parseNumber(text: string): unknown {
  const value = Number(text);
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(value)) return BigInt(text);
  if (!Number.isFinite(value)) throw new RangeError(`the number ${text} is out of range`);
  return value;
}

function invalidJson(raw: Uint8Array, error: unknown): BadRequest {
  const detail = raw.byteLength === 0 ? 'the body is empty' : (error as Error).message;
  return new BadRequest(
    `llmemo-proxy could not parse the JSON body of your request (${detail}). Send a JSON object with Content-Type: application/json.`,
    'invalid_json',
  );
}

/**
 * Parses a body for keying. The fast path is JSON.parse plus one scan; only bodies with long integers, exponents
 * or duplicate keys take the exact (slower) parser. Throws BadRequest (invalid_json) for text that is not JSON.
 */
export function parseBody(raw: Uint8Array): BodyParse {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { unkeyable: 'invalid-utf8' };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw invalidJson(raw, error);
  }
  const found = scan(text);
  if (!found.exact && found.keys === members(body)) return { body };
  try {
    // Throws on a key given twice with different values; the same value twice reads the same anywhere.
    return { body: parseLossless(text, null, parseNumber) };
  } catch (error) {
    if (error instanceof RangeError) return { unkeyable: 'number-out-of-range' };
    return { unkeyable: 'duplicate-keys' };
  }
}

/** JSON text for a body this module parsed (bigints written as the integers they were). */
export function toJson(value: unknown): string {
  return stringifyLossless(value) ?? 'null';
}
