import { LlmemoError } from './errors.js';

/**
 * Key labels (namespace, kind, provider, model): each is escaped into `[A-Za-z0-9.-]` and `~XX` escapes, and the
 * escaping is injective: two distinct labels never escape to one string, so one tenant's namespace or one model id
 * can never read, or purge, another's entries.
 *
 * Injectivity needs well-formed Unicode: UTF-8 has no encoding for a lone surrogate (Buffer writes U+FFFD for one),
 * so `'\ud800'`, `'\udc00'` and `'\ufffd'` would all escape to `~EF~BF~BD`. Such labels are refused instead.
 */

const PLAIN_LABEL = /^[A-Za-z0-9.-]+$/;
const PLAIN_CHAR = /^[A-Za-z0-9.-]$/;
/** With the `u` flag a surrogate range matches only unpaired surrogates: a pair is one code point. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const ESCAPED_LABEL = /^(?:[A-Za-z0-9.-]|~[0-9A-F]{2})+$/;

/** True when `text` is well-formed Unicode (no unpaired surrogate), i.e. it has a UTF-8 encoding. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** The message for a label that is not well-formed Unicode. */
export function notWellFormed(option: string, value: string): string {
  const at = value.search(LONE_SURROGATE);
  const unit = value.charCodeAt(at).toString(16).toUpperCase();
  return `${option} must be well-formed Unicode; it has an unpaired surrogate (U+${unit}) at index ${at}, which has no UTF-8 encoding and so cannot be told apart from U+FFFD in a key.`;
}

/**
 * Escapes one key label so it holds only `[A-Za-z0-9.-]` and `~XX` escapes: no `:` (our separator), no `%` or `_`
 * (SQL LIKE wildcards), no `*?[]\` (Redis glob). A namespace or model id can then never collide with another or
 * widen a prefix purge. The empty label is `~`, which no other label can be. Throws INVALID_OPTIONS for a label
 * that is not well-formed Unicode.
 */
export function escapeLabel(label: string): string {
  if (PLAIN_LABEL.test(label)) return label;
  if (label === '') return '~';
  if (!isWellFormed(label)) throw new LlmemoError('INVALID_OPTIONS', notWellFormed('A key label', label));
  let out = '';
  for (const char of label) {
    if (PLAIN_CHAR.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// ignoreBOM: a leading U+FEFF is part of the label, not a byte-order mark to drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The label an escaped label stands for; undefined for text that escapeLabel cannot have written (a bad escape,
 * invalid UTF-8, an escaped character that needs none, lowercase hex): such a key is not ours, so no filter can
 * match it by accident.
 */
export function decodeLabel(escaped: string): string | undefined {
  if (escaped === '~') return '';
  if (PLAIN_LABEL.test(escaped)) return escaped;
  if (!ESCAPED_LABEL.test(escaped)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === '~') {
      bytes.push(Number.parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(escaped.charCodeAt(i));
    }
  }
  let label: string;
  try {
    label = utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
  return escapeLabel(label) === escaped ? label : undefined;
}

/** The inverse of escapeLabel. Throws INVALID_OPTIONS for text that is not an escaped label. */
export function unescapeLabel(escaped: string): string {
  const label = decodeLabel(escaped);
  if (label === undefined) {
    throw new LlmemoError('INVALID_OPTIONS', `${JSON.stringify(escaped)} is not an escaped llmemo key label.`);
  }
  return label;
}
