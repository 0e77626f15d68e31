import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseKey } from '../key.js';

/**
 * Where the file store keeps each key: `<namespace>/<provider>/<model>/<kind>-<digest>.json` for llmemo keys (so a
 * fixture directory reads like the cache it is), `+keys/<key>.json` for any other key a Keyv user stores.
 *
 * Every path segment is made of `[a-z0-9.-]`, `_XX` escapes (lowercase hex of each UTF-8 byte) and at most one
 * `+`, and the mapping is injective even on case-insensitive file systems (macOS, Windows): uppercase letters are
 * escaped, so `GPT-4` and `gpt-4` are different files. No segment can be `.`, `..`, empty, end in a dot (Windows
 * drops it) or be a reserved Windows device name, and none contains a separator, so no key escapes the directory.
 * Segments longer than {@link MAX_SEGMENT} keep a readable head and end in `+` and a 128-bit hash of the whole
 * label. Each file also records its full key and a read checks it, so even a hash collision is a miss, never
 * another key's answer.
 */

/** Longest segment written as is; file systems allow 255 bytes, and temp-file suffixes need room. */
export const MAX_SEGMENT = 160;
const HEAD = 96;

const PLAIN = /^[a-z0-9-]$/;
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/;

/** Our reserved top-level names start with `+`, which no escaped segment does. */
export const FOREIGN_DIR = '+keys';
export const STATS_DIR = '+stats';

function escapeByte(byte: number): string {
  return `_${byte.toString(16).padStart(2, '0')}`;
}

function escapeChars(label: string): string {
  let out = '';
  for (const char of label) {
    if (PLAIN.test(char) || (char === '.' && out !== '')) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += escapeByte(byte);
  }
  return out;
}

/** One label as a path segment (see the module comment). */
export function segmentName(label: string): string {
  if (label === '') return '_';
  let out = escapeChars(label);
  // A trailing dot would be dropped on Windows (`a.` = `a`); `.` and `..` are already escaped as a leading dot.
  if (out.endsWith('.')) out = `${out.slice(0, -1)}${escapeByte(0x2e)}`;
  if (RESERVED.test(out)) out = `${escapeByte(out.charCodeAt(0))}${out.slice(1)}`;
  if (out.length <= MAX_SEGMENT) return out;
  // A lone surrogate has no UTF-8 form: hash its UTF-16 code units, so distinct labels keep distinct hashes.
  const hash = createHash('sha256').update(label, 'utf16le').digest('hex').slice(0, 32);
  return `${out.slice(0, HEAD)}+${hash}`;
}

/** The entry file of a key, relative to the store's directory. */
export function entryPath(key: string): string {
  const labels = parseKey(key);
  if (labels === undefined) return join(FOREIGN_DIR, `${segmentName(key)}.json`);
  return join(
    segmentName(labels.namespace),
    segmentName(labels.provider),
    segmentName(labels.model),
    `${segmentName(labels.kind)}-${labels.digest}.json`,
  );
}

/**
 * The directory (relative) that holds every key starting with `prefix`, as far as the prefix pins one down:
 * a complete namespace label narrows a scan to that namespace's directory. Undefined: scan everything.
 */
export function prefixDirectory(prefix: string, keyPrefix: string): string | undefined {
  if (!prefix.startsWith(keyPrefix)) return undefined;
  const rest = prefix.slice(keyPrefix.length);
  const end = rest.indexOf(':');
  if (end < 0) return undefined;
  const labels = parseKey(`${keyPrefix}${rest.slice(0, end)}:a:a:a:${'0'.repeat(64)}`);
  return labels ? segmentName(labels.namespace) : undefined;
}
