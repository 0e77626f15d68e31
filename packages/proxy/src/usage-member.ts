/**
 * Finding the top-level `"usage": null` member of a chunk's JSON in its bytes, without parsing it. The scan is a
 * strict validator: it answers only for text JSON.parse would accept, and says `unsure` for anything it cannot
 * prove (invalid JSON, non-null usage, a key with escapes that might spell `usage`, two usage keys, deep nesting),
 * which the caller then takes the parsing path for. Bytes, not a decoded string: no decoding, no re-encoding, and
 * UTF-8 can only be multi-byte inside strings, where any byte of 0x80 and up is accepted as the decoder would.
 */

/** The bytes to cut: the member and one comma beside it (with the whitespace between them). */
export interface Cut {
  from: number;
  to: number;
}

export const NO_USAGE = 'none';
export const UNSURE = 'unsure';
export type UsageMember = Cut | typeof NO_USAGE | typeof UNSURE;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** Past this depth the scan gives up (the parsing path copes); recursion stays shallow whatever the upstream sends. */
const MAX_DEPTH = 64;

/** Characters allowed after a backslash, other than `u`: " \ / b f n r t. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const char of '"\\/bfnrt') SIMPLE_ESCAPE[char.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const char of '0123456789abcdefABCDEF') HEX[char.charCodeAt(0)] = 1;
const USAGE = [0x75, 0x73, 0x61, 0x67, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];

/** Only space and tab: the text is one SSE line, so CR and LF cannot be in it. */
function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && (b[i] === 0x20 || b[i] === 0x09)) i++;
  return i;
}

function isDigit(b: Uint8Array, i: number, end: number): boolean {
  return i < end && b[i]! >= 0x30 && b[i]! <= 0x39;
}

function skipDigits(b: Uint8Array, i: number, end: number): number {
  while (isDigit(b, i, end)) i++;
  return i;
}

/** Whether the last string skipped had an escape (for keys, which an escape could make spell `usage`). */
let escapes = false;

/** The end of the string opening at i, or -1. Raw control characters and unknown escapes are invalid JSON. */
function skipString(b: Uint8Array, i: number, end: number): number {
  escapes = false;
  for (i++; i < end; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c !== BACKSLASH) continue;
    escapes = true;
    const escaped = i + 1 < end ? b[i + 1]! : 0;
    if (SIMPLE_ESCAPE[escaped] === 1) i++;
    else if (escaped === 0x75 && i + 5 < end && HEX[b[i + 2]!] && HEX[b[i + 3]!] && HEX[b[i + 4]!] && HEX[b[i + 5]!])
      i += 5;
    else return -1;
  }
  return -1;
}

/** JSON's number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?; the end, or -1. */
function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (i < end && b[i] === 0x2d) i++;
  if (i < end && b[i] === 0x30) i++;
  else if (isDigit(b, i, end)) i = skipDigits(b, i, end);
  else return -1;
  if (i < end && b[i] === 0x2e) {
    if (!isDigit(b, i + 1, end)) return -1;
    i = skipDigits(b, i + 1, end);
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (!isDigit(b, i, end)) return -1;
    i = skipDigits(b, i, end);
  }
  return i;
}

function matches(b: Uint8Array, i: number, end: number, word: readonly number[]): boolean {
  if (i + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}

function skipWord(b: Uint8Array, i: number, end: number, word: readonly number[]): number {
  return matches(b, i, end, word) ? i + word.length : -1;
}

/** The end of the value starting at i, or -1. */
function skipValue(b: Uint8Array, i: number, end: number, depth: number): number {
  switch (b[i]) {
    case QUOTE:
      return skipString(b, i, end);
    case OPEN_BRACE:
      return depth < MAX_DEPTH ? skipObject(b, i, end, depth + 1) : -1;
    case OPEN_BRACKET:
      return depth < MAX_DEPTH ? skipArray(b, i, end, depth + 1) : -1;
    case 0x74:
      return skipWord(b, i, end, TRUE);
    case 0x66:
      return skipWord(b, i, end, FALSE);
    case 0x6e:
      return skipWord(b, i, end, NULL);
    default:
      return i < end ? skipNumber(b, i, end) : -1;
  }
}

/**
 * After an array element or member value (past its whitespace): the index of the comma or of the container's
 * closing character, or -1 for anything else.
 */
function separator(b: Uint8Array, i: number, end: number, close: number): number {
  i = skipSpace(b, i, end);
  return i < end && (b[i] === COMMA || b[i] === close) ? i : -1;
}

function skipArray(b: Uint8Array, i: number, end: number, depth: number): number {
  i = skipSpace(b, i + 1, end);
  if (i < end && b[i] === CLOSE_BRACKET) return i + 1;
  for (;;) {
    i = skipValue(b, i, end, depth);
    if (i < 0) return -1;
    i = separator(b, i, end, CLOSE_BRACKET);
    if (i < 0 || b[i] === CLOSE_BRACKET) return i < 0 ? -1 : i + 1;
    i = skipSpace(b, i + 1, end);
  }
}

/** The start of the member's value (after its key and colon), or -1. */
function memberValue(b: Uint8Array, keyEnd: number, end: number): number {
  const colon = skipSpace(b, keyEnd, end);
  return colon < end && b[colon] === COLON ? skipSpace(b, colon + 1, end) : -1;
}

function skipObject(b: Uint8Array, i: number, end: number, depth: number): number {
  i = skipSpace(b, i + 1, end);
  if (i < end && b[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return -1;
    const value = memberValue(b, skipString(b, i, end), end);
    if (value < 0) return -1;
    i = skipValue(b, value, end, depth);
    if (i < 0) return -1;
    i = separator(b, i, end, CLOSE_BRACE);
    if (i < 0 || b[i] === CLOSE_BRACE) return i < 0 ? -1 : i + 1;
    i = skipSpace(b, i + 1, end);
  }
}

/**
 * The top-level `"usage": null` member of the JSON text in b[start, end), to cut with one comma beside it: the
 * comma before it (from the previous value's end), or for a first member the comma after it (to the next key).
 * What stays is the text JSON.parse then `delete` would give, with every other byte as it was.
 */
export function usageNullMember(b: Uint8Array, start: number, end: number): UsageMember {
  let i = skipSpace(b, start, end);
  if (i >= end || b[i] !== OPEN_BRACE) return UNSURE;
  i = skipSpace(b, i + 1, end);
  let cut: Cut | undefined;
  let previousEnd = -1;
  let closed = i < end && b[i] === CLOSE_BRACE;
  if (closed) i++;
  while (!closed) {
    if (i >= end || b[i] !== QUOTE) return UNSURE;
    const keyStart = i;
    const keyEnd = skipString(b, i, end);
    if (keyEnd < 0) return UNSURE;
    // An escape could spell `usage` (a second usage key, or the only one): the parsing path's.
    if (escapes) return UNSURE;
    const value = memberValue(b, keyEnd, end);
    if (value < 0) return UNSURE;
    const valueEnd = skipValue(b, value, end, 1);
    if (valueEnd < 0) return UNSURE;
    if (keyEnd - keyStart === USAGE.length + 2 && matches(b, keyStart + 1, keyEnd, USAGE)) {
      // Two usage keys (JSON.parse keeps the last, delete removes both) or a usage to drop: the parsing path's.
      if (cut !== undefined || valueEnd - value !== 4 || !matches(b, value, end, NULL)) return UNSURE;
      cut = { from: previousEnd < 0 ? keyStart : previousEnd, to: previousEnd < 0 ? -1 : valueEnd };
    }
    const at = separator(b, valueEnd, end, CLOSE_BRACE);
    if (at < 0) return UNSURE;
    closed = b[at] === CLOSE_BRACE;
    i = closed ? at + 1 : skipSpace(b, at + 1, end);
    if (cut !== undefined && cut.to < 0) cut.to = closed ? valueEnd : i;
    previousEnd = valueEnd;
  }
  if (skipSpace(b, i, end) !== end) return UNSURE;
  return cut ?? NO_USAGE;
}
