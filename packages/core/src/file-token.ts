import { createHash } from 'node:crypto';

/**
 * The tokens file fields are keyed by (canonicalization spec rule 6): a file's bytes, whatever text form carries
 * them (canonical base64, a base64 `data:` URL, raw bytes), so one image keys the same in every form a provider
 * accepts, and no two different files share a token.
 */

/** A character outside the standard base64 alphabet (padding excluded). A plain class: linear on megabytes. */
const NOT_BASE64 = /[^A-Za-z0-9+/]/;
/** Last data characters whose unused low bits are zero, before `==` and before `=`. */
const BEFORE_TWO_PADS = 'AQgw';
const BEFORE_ONE_PAD = 'AEIMQUYcgkosw048';
const DATA_URL_BASE64 = ';base64';
/** Property names that give the media type of the file an object carries in its `data` property. */
const MEDIA_TYPE_KEYS = ['mediaType', 'mimeType', 'media_type', 'mime_type'] as const;

export function sha256Hex(data: string | ArrayBufferView): string {
  return createHash('sha256')
    .update(data as string)
    .digest('hex');
}

export function bytesToken(view: ArrayBufferView): string {
  // Not valid JSON on purpose: no string, number or object can serialize to the same text.
  return `#bytes:${sha256Hex(view)}:${view.byteLength}`;
}

/**
 * Canonical base64 (RFC 4648 section 4, the standard alphabet): whole quads, `=` padding only where needed, and zero
 * bits in the last character's unused low bits. Exactly the strings `Buffer.toString('base64')` writes, so decoding
 * is a bijection: no two such strings give the same bytes (Node's lenient decoder maps `QQ==`, `QR==`, `Q Q==` and
 * `QQ` all to one byte). Not one regex with groups: V8 backtracks those per quad and overflows its stack on ~10 MB.
 */
export function isCanonicalBase64(text: string): boolean {
  const length = text.length;
  if (length % 4 !== 0) return false;
  if (length === 0) return true;
  let end = length;
  if (text.charCodeAt(length - 1) === 61 /* = */) {
    end--;
    if (text.charCodeAt(length - 2) === 61) end--;
  }
  if (NOT_BASE64.test(end === length ? text : text.slice(0, end))) return false;
  if (end === length - 2) return BEFORE_TWO_PADS.includes(text[length - 3]!);
  if (end === length - 1) return BEFORE_ONE_PAD.includes(text[length - 2]!);
  return true;
}

/**
 * The token for a string in a file field (spec rule 6): canonical base64 is its bytes; a `data:` URL with a
 * canonical base64 payload is its bytes plus its media type (left out when it equals the media type the enclosing
 * object already keys, so a data URL and raw bytes of one image agree); anything else is undefined (keyed as text).
 */
export function fileStringToken(text: string, mediaType: string | undefined): string | undefined {
  if (!text.startsWith('data:')) {
    return isCanonicalBase64(text) ? bytesToken(Buffer.from(text, 'base64')) : undefined;
  }
  const comma = text.indexOf(',');
  if (comma < 0) return undefined;
  const header = text.slice(5, comma);
  if (!header.endsWith(DATA_URL_BASE64)) return undefined;
  const payload = text.slice(comma + 1);
  if (!isCanonicalBase64(payload)) return undefined;
  const type = header.slice(0, -DATA_URL_BASE64.length);
  const token = bytesToken(Buffer.from(payload, 'base64'));
  return type === mediaType ? token : `${token}:${JSON.stringify(type)}`;
}

/** The media type an object carrying a file in `data` names; null for a file without one; undefined: no file. */
export function fileMediaType(object: Record<string, unknown>): string | null | undefined {
  for (const key of MEDIA_TYPE_KEYS) {
    const value = object[key];
    if (typeof value === 'string') return value;
  }
  // LangChain's data content blocks: `mime_type` is optional there.
  return object.source_type === 'base64' ? null : undefined;
}
