import { createHash } from 'node:crypto';
import { LlmemoError } from './errors.js';

/**
 * Canonical serialization: the single walk that turns a request into the exact text we hash.
 *
 * Hand-written rather than safe-stable-stringify + a replacer: we must normalize text, hash binary data and
 * drop transport objects during the walk, and doing it in one pass that writes the output directly is what keeps
 * key derivation within 1.5x of a bare stable-stringify (see `pnpm bench`). The rules are the public spec in
 * packages/core/README.md ("Canonicalization spec v1"); changing them means bumping KEY_VERSION.
 */

export interface TextNormalization {
  /** Unicode NFC. */
  unicode: boolean;
  /** CRLF and lone CR become LF. */
  lineEndings: boolean;
  /** Trim the ends of each text part. */
  trim: boolean;
  /** Collapse every run of whitespace into one space (opt-in: it erases indentation). */
  collapseWhitespace: boolean;
}

export const DEFAULT_NORMALIZATION: TextNormalization = Object.freeze({
  unicode: true,
  lineEndings: true,
  trim: true,
  collapseWhitespace: false,
});

export const NO_NORMALIZATION: TextNormalization = Object.freeze({
  unicode: false,
  lineEndings: false,
  trim: false,
  collapseWhitespace: false,
});

/** Property names whose string values are prose: these get trimmed and collapsed (when enabled). */
const TEXT_KEYS = new Set(['text', 'content', 'prompt', 'system', 'instructions']);
/** Property names that mark an object as carrying a file whose `data` string is base64. */
const MEDIA_TYPE_KEYS = ['mediaType', 'mimeType', 'media_type', 'mime_type'] as const;
const BASE64_DATA_TYPES = new Set(['data', 'media', 'file-data', 'image-data']);

const COMPOSABLE = /[\u0300-\uffff]/;
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const DATA_URL = /^data:([^,]*?),/;

export function sha256Hex(data: string | ArrayBufferView): string {
  return createHash('sha256')
    .update(data as string)
    .digest('hex');
}

function bytesToken(view: ArrayBufferView): string {
  // Not valid JSON on purpose: no string, number or object can serialize to the same text.
  return `#bytes:${sha256Hex(view)}:${view.byteLength}`;
}

function isBase64(text: string): boolean {
  return text.length % 4 !== 1 && BASE64.test(text);
}

/** Returns the bytes a data: URL carries, or undefined when the text is not a data: URL. */
function dataUrlBytes(text: string): Uint8Array | undefined {
  if (!text.startsWith('data:')) return undefined;
  const match = DATA_URL.exec(text);
  if (!match) return undefined;
  const payload = text.slice(match[0].length);
  if (match[1]!.endsWith(';base64')) return Buffer.from(payload, 'base64');
  try {
    return Buffer.from(decodeURIComponent(payload), 'utf8');
  } catch {
    return undefined;
  }
}

function hasMediaType(object: Record<string, unknown>): boolean {
  for (const key of MEDIA_TYPE_KEYS) if (typeof object[key] === 'string') return true;
  return typeof object.type === 'string' && BASE64_DATA_TYPES.has(object.type);
}

const AbortSignalCtor: { new (): AbortSignal } | undefined =
  typeof AbortSignal === 'undefined' ? undefined : (AbortSignal as unknown as { new (): AbortSignal });

function isSkipped(value: unknown): boolean {
  return value === undefined || (AbortSignalCtor !== undefined && value instanceof AbortSignalCtor);
}

class Canonicalizer {
  private readonly ancestors = new Set<object>();

  constructor(private readonly norm: TextNormalization | null) {}

  text(value: string, prose: boolean): string {
    const norm = this.norm;
    if (norm === null) return JSON.stringify(value);
    let text = value;
    if (norm.lineEndings && text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    if (norm.unicode && COMPOSABLE.test(text)) text = text.normalize('NFC');
    if (prose) {
      if (norm.collapseWhitespace) text = text.replace(/\s+/g, ' ');
      if (norm.trim) text = text.trim();
    }
    return JSON.stringify(text);
  }

  value(value: unknown, path: string, prose: boolean): string {
    switch (typeof value) {
      case 'string': {
        const bytes = value.length > 5 && value.charCodeAt(0) === 100 ? dataUrlBytes(value) : undefined;
        return bytes ? bytesToken(bytes) : this.text(value, prose);
      }
      case 'number':
        return Number.isFinite(value) ? String(value) : 'null';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'bigint':
        return `${value}n`;
      case 'object':
        if (value === null) return 'null';
        return this.object(value, path);
      default:
        throw new LlmemoError(
          'UNSERIALIZABLE_REQUEST',
          `The request holds a ${typeof value} at ${path || 'the top level'}, which cannot be part of a cache key.`,
        );
    }
  }

  private object(value: object, path: string): string {
    if (ArrayBuffer.isView(value)) return bytesToken(value);
    if (value instanceof ArrayBuffer) return bytesToken(new Uint8Array(value));
    if (value instanceof Date) return JSON.stringify(Number.isNaN(value.getTime()) ? null : value.toISOString());
    if (value instanceof URL) return JSON.stringify(value.href);
    if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof Promise) {
      throw new LlmemoError(
        'UNSERIALIZABLE_REQUEST',
        `The request holds a ${value.constructor.name} at ${path || 'the top level'}; pass plain objects and arrays.`,
      );
    }
    if (this.ancestors.has(value)) {
      throw new LlmemoError(
        'UNSERIALIZABLE_REQUEST',
        `The request is circular at ${path || 'the top level'}; a circular value cannot be part of a cache key.`,
      );
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      return this.value(toJSON.call(value), path, false);
    }
    this.ancestors.add(value);
    try {
      if (Array.isArray(value)) return this.array(value, path);
      return this.record(value as Record<string, unknown>, path);
    } finally {
      this.ancestors.delete(value);
    }
  }

  array(items: readonly unknown[], path: string, prose = false): string {
    let out = '[';
    for (let i = 0; i < items.length; i++) {
      if (i > 0) out += ',';
      const item = items[i];
      out += isSkipped(item) ? 'null' : this.value(item, `${path}[${i}]`, prose);
    }
    return `${out}]`;
  }

  private record(object: Record<string, unknown>, path: string): string {
    const keys = Object.keys(object).sort();
    const binaryData = typeof object.data === 'string' && hasMediaType(object);
    let out = '{';
    let first = true;
    for (const key of keys) {
      const item = object[key];
      if (isSkipped(item)) continue;
      if (!first) out += ',';
      first = false;
      out += JSON.stringify(key);
      out += ':';
      if (binaryData && key === 'data' && isBase64(item as string)) {
        out += bytesToken(Buffer.from(item as string, 'base64'));
      } else {
        out += this.value(item, path ? `${path}.${key}` : key, TEXT_KEYS.has(key));
      }
    }
    return `${out}}`;
  }
}

/**
 * Serializes `value` canonically. With `normalization` set, strings are treated as prompt text (see the spec);
 * with `null` they are kept byte for byte, as request parameters are.
 */
export function canonicalize(value: unknown, normalization: TextNormalization | null): string {
  const canonicalizer = new Canonicalizer(normalization);
  if (isSkipped(value)) return 'null';
  // A bare string or list of strings is the whole prompt (or a batch of embedding inputs): it is prose.
  if (typeof value === 'string') return canonicalizer.value(value, '', true);
  if (Array.isArray(value)) return canonicalizer.array(value, '', true);
  return canonicalizer.value(value, '', false);
}
