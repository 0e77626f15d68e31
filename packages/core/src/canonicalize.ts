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

/** Characters JSON.stringify would escape (controls, quote, backslash, lone surrogates), as safe-stable-stringify does. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NEEDS_ESCAPING = /[\u0000-\u001f\u0022\u005c\ud800-\udfff]/;
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const DATA_URL = /^data:([^,]*?),/;

export function sha256Hex(data: string | ArrayBufferView): string {
  return createHash('sha256')
    .update(data as string)
    .digest('hex');
}

/** JSON string literal; skips JSON.stringify's slow path for the common string that needs no escaping. */
function quote(text: string): string {
  return !NEEDS_ESCAPING.test(text) ? `"${text}"` : JSON.stringify(text);
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

export function isSkipped(value: unknown): boolean {
  return value === undefined || (AbortSignalCtor !== undefined && value instanceof AbortSignalCtor);
}

/** Cycles are only looked for past this depth: any cycle drives the depth past it, and shallow walks stay cheap. */
const CYCLE_CHECK_DEPTH = 64;
/** Output is handed to the sink in pieces of about this size, so no request ever becomes one giant rope string. */
const DRAIN_AT = 16_384;

/** Where canonical text goes: a hash (for keys) or a string (for tests and the spec's worked examples). */
export interface CanonicalSink {
  write(text: string): void;
}

export class Canonicalizer {
  /** The ancestors of the value being written, and the property names leading to it (for error messages only). */
  private readonly stack: object[] = [];
  private readonly names: (string | number)[] = [];
  private out = '';

  constructor(
    /** Text normalization for the strings written next; null keeps them byte for byte. Switchable mid-document. */
    public norm: TextNormalization | null,
    private readonly sink: CanonicalSink,
  ) {}

  /** Writes any buffered text to the sink. */
  drain(): void {
    if (this.out.length > 0) {
      this.sink.write(this.out);
      this.out = '';
    }
  }

  raw(text: string): void {
    this.out += text;
  }

  private path(): string {
    let out = '';
    for (const name of this.names) out += typeof name === 'number' ? `[${name}]` : out ? `.${name}` : name;
    return out || 'the top level';
  }

  private unserializable(what: string): LlmemoError {
    return new LlmemoError(
      'UNSERIALIZABLE_REQUEST',
      `The request holds ${what} at ${this.path()}, which cannot be part of a cache key; pass plain data.`,
    );
  }

  private text(value: string, prose: boolean): void {
    const norm = this.norm;
    let text = value;
    if (norm !== null) {
      if (norm.lineEndings && text.indexOf('\r') !== -1) text = text.replace(/\r\n?/g, '\n');
      // NFC cannot change pure ASCII, and a native byte count is ~5x cheaper than a regex scan for that.
      if (norm.unicode && Buffer.byteLength(text) !== text.length) text = text.normalize('NFC');
      if (prose) {
        if (norm.collapseWhitespace) text = text.replace(/\s+/g, ' ');
        if (norm.trim) text = text.trim();
      }
    }
    this.out += quote(text);
    if (this.out.length > DRAIN_AT) this.drain();
  }

  value(value: unknown, prose: boolean): void {
    switch (typeof value) {
      case 'string': {
        const bytes = value.length > 5 && value.charCodeAt(0) === 100 ? dataUrlBytes(value) : undefined;
        if (bytes) this.out += bytesToken(bytes);
        else this.text(value, prose);
        return;
      }
      case 'number':
        this.out += Number.isFinite(value) ? String(value) : 'null';
        return;
      case 'boolean':
        this.out += value ? 'true' : 'false';
        return;
      case 'bigint':
        this.out += `${value}n`;
        return;
      case 'object':
        if (value === null) this.out += 'null';
        else this.object(value);
        return;
      default:
        throw this.unserializable(`a ${typeof value}`);
    }
  }

  private object(value: object): void {
    const proto = Object.getPrototypeOf(value);
    // Plain objects and arrays are nearly everything in a request: test for them before any instanceof chain.
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
      if (ArrayBuffer.isView(value)) {
        this.out += bytesToken(value);
        return;
      }
      if (value instanceof ArrayBuffer) {
        this.out += bytesToken(new Uint8Array(value));
        return;
      }
      if (value instanceof Date) {
        this.out += Number.isNaN(value.getTime()) ? 'null' : `"${value.toISOString()}"`;
        return;
      }
      if (value instanceof URL) {
        this.out += quote(value.href);
        return;
      }
      if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof Promise) {
        throw this.unserializable(`a ${value.constructor.name}`);
      }
    }
    const stack = this.stack;
    if (stack.length >= CYCLE_CHECK_DEPTH && stack.includes(value)) throw this.unserializable('a circular reference');
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      this.value(toJSON.call(value), false);
      return;
    }
    stack.push(value);
    if (Array.isArray(value)) this.array(value);
    else this.record(value as Record<string, unknown>);
    stack.pop();
  }

  /** Writes a top-level value: a bare string or list of strings is prose (a whole prompt or a batch of inputs). */
  top(value: unknown): void {
    if (isSkipped(value)) this.out += 'null';
    else if (typeof value === 'string') this.value(value, true);
    else if (Array.isArray(value)) this.array(value, true);
    else this.value(value, false);
  }

  array(items: readonly unknown[], prose = false): void {
    this.out += '[';
    const names = this.names;
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.out += ',';
      const item = items[i];
      names.push(i);
      if (isSkipped(item)) this.out += 'null';
      else this.value(item, prose);
      names.pop();
    }
    this.out += ']';
  }

  /** Writes one property (`,"key":value` or `"key":value`), for callers that assemble an object themselves. */
  property(key: string, value: unknown, first: boolean): void {
    this.out += first ? quote(key) : `,${quote(key)}`;
    this.out += ':';
    this.names.push(key);
    this.value(value, false);
    this.names.pop();
  }

  private record(object: Record<string, unknown>): void {
    const keys = Object.keys(object).sort();
    const binaryData = typeof object.data === 'string' && hasMediaType(object);
    const names = this.names;
    this.out += '{';
    let first = true;
    for (const key of keys) {
      const item = object[key];
      if (isSkipped(item)) continue;
      this.out += first ? quote(key) : `,${quote(key)}`;
      this.out += ':';
      first = false;
      names.push(key);
      if (binaryData && key === 'data' && isBase64(item as string)) {
        this.out += bytesToken(Buffer.from(item as string, 'base64'));
      } else {
        this.value(item, TEXT_KEYS.has(key));
      }
      names.pop();
    }
    this.out += '}';
  }
}

/**
 * Writes `value` canonically to `sink`. With `normalization` set, strings are prompt text (see the spec); with
 * `null` they are kept byte for byte, as request parameters are. A bare string or list of strings is the whole
 * prompt (or a batch of embedding inputs), so it counts as prose.
 */
export function writeCanonical(value: unknown, normalization: TextNormalization | null, sink: CanonicalSink): void {
  const canonicalizer = new Canonicalizer(normalization, sink);
  canonicalizer.top(value);
  canonicalizer.drain();
}

/** The canonical text of `value` (see writeCanonical). */
export function canonicalize(value: unknown, normalization: TextNormalization | null): string {
  let out = '';
  writeCanonical(value, normalization, {
    write(text) {
      out += text;
    },
  });
  return out;
}
