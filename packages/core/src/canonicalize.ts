import { LlmemoError } from './errors.js';
import { bytesToken, fileMediaType, fileStringToken } from './file-token.js';

/**
 * Canonical serialization: the single walk that turns a request into the exact text we hash.
 *
 * Hand-written rather than safe-stable-stringify, the serializer the design names, because it is measurably faster
 * and key derivation is the largest cost of a hit. Issue 12's alternative, normalizing in a pre-pass and
 * serializing the result with safe-stable-stringify (`test/bench/prepass-canonical.ts`, same digests), measured
 * against bare `sha256(safe-stable-stringify(request))` in `pnpm bench core` (seven runs, 2026-12-02, 2 shared
 * vCPUs): 0.94–1.58x for a 2 KB request, 1.10–1.62x for 21 KB, 1.16–1.39x for 211 KB; this writer 0.63–1.15x,
 * 0.79–1.23x and 0.75–1.04x. The pre-pass copies the whole request before the serializer walks it again, and it
 * still lacks the raw bytes tokens of file fields, which no JSON serializer emits (a marker and a post-pass over
 * the output would add to it). The rules are the public spec in packages/core/README.md ("Canonicalization spec",
 * v2); changing them means bumping KEY_VERSION.
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

/** Characters JSON.stringify would escape (controls, quote, backslash, lone surrogates), as safe-stable-stringify does. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NEEDS_ESCAPING = /[\u0000-\u001f\u0022\u005c\ud800-\udfff]/;
/** Anything but printable ASCII: a control character (CR and tab among them), a quote, a backslash, non-ASCII. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NOT_PLAIN_ASCII = /[\u0000-\u001f\u0022\u005c\u007f-\uffff]/;

/** JSON string literal; skips JSON.stringify's slow path for the common string that needs no escaping. */
function quote(text: string): string {
  return !NEEDS_ESCAPING.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** Which property of an object holds a file, and the media type the object names for it. */
interface FileField {
  key: string;
  mediaType: string | undefined;
}

const IMAGE_URL_OBJECT: FileField = { key: 'url', mediaType: undefined };
const AUDIO_OBJECT: FileField = { key: 'data', mediaType: undefined };

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
    // Most prompt text is printable ASCII: one scan proves there is no CR, nothing NFC could change and nothing to
    // escape, where the general path below scans for each of the three.
    if (!NOT_PLAIN_ASCII.test(text)) {
      if (norm !== null && prose) {
        if (norm.collapseWhitespace) text = text.replace(/\s+/g, ' ');
        if (norm.trim) text = text.trim();
      }
      this.out += `"${text}"`;
      if (this.out.length > DRAIN_AT) this.drain();
      return;
    }
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
      case 'string':
        this.text(value, prose);
        return;
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

  /**
   * Writes an object. `file` names the property that carries a file when the caller knows it from the context (the
   * url of an `image_url` object, the data of an `input_audio` object or of an AI SDK v4 `{ type: 'data' }`
   * wrapper); otherwise the object's own media type property decides whether its `data` is one.
   */
  private record(object: Record<string, unknown>, file?: FileField): void {
    const keys = sortedKeys(object);
    if (file === undefined && 'data' in object) {
      const mediaType = fileMediaType(object);
      if (mediaType !== undefined) file = { key: 'data', mediaType: mediaType ?? undefined };
    }
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
      if (file !== undefined && key === file.key) this.file(item, file.mediaType);
      else if (key === 'image_url' || key === 'file_data' || key === 'input_audio') this.fileProperty(key, item);
      else this.value(item, TEXT_KEYS.has(key));
      names.pop();
    }
    this.out += '}';
  }

  /** OpenAI's file-carrying properties: `image_url` (a URL, or `{ url }`), `file_data`, `input_audio: { data }`. */
  private fileProperty(key: string, item: unknown): void {
    if (typeof item === 'string' && key !== 'input_audio') {
      this.file(item, undefined);
    } else if (isPlainObject(item) && key !== 'file_data') {
      this.nested(item, key === 'image_url' ? IMAGE_URL_OBJECT : AUDIO_OBJECT);
    } else {
      this.value(item, false);
    }
  }

  /** The value of a file field: bytes as a bytes token, canonical base64 decoded, anything else as exact text. */
  private file(item: unknown, mediaType: string | undefined): void {
    if (typeof item === 'string') {
      // Text that is not base64 is keyed byte for byte: normalizing it would change what the provider decodes.
      this.out += fileStringToken(item, mediaType) ?? quote(item);
      if (this.out.length > DRAIN_AT) this.drain();
    } else if (isPlainObject(item) && item.type === 'data') {
      // AI SDK v4 file data, `{ type: 'data', data }`: the media type is the enclosing part's.
      this.nested(item, { key: 'data', mediaType });
    } else {
      this.value(item, false);
    }
  }

  /** A nested object with a known file field (with the cycle bookkeeping object() does). */
  private nested(object: Record<string, unknown>, file: FileField): void {
    const stack = this.stack;
    if (stack.length >= CYCLE_CHECK_DEPTH && stack.includes(object)) throw this.unserializable('a circular reference');
    if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
      this.object(object);
      return;
    }
    stack.push(object);
    this.record(object, file);
    stack.pop();
  }
}

/** Objects with more keys than this are sorted by Array.prototype.sort; smaller ones (nearly all) by insertion. */
const INSERTION_SORT_MAX = 16;

/**
 * The object's own enumerable keys in code-unit order, the order `Array.prototype.sort()` gives. A request is mostly
 * objects of two to six keys, where an insertion sort with `>` (which compares strings by code units too) costs a
 * quarter of the generic sort's call.
 */
export function sortedKeys(object: object): string[] {
  const keys = Object.keys(object);
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
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
