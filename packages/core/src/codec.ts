import { LlmemoError } from './errors.js';

/**
 * The value codec: JSON with tags for what JSON loses (Date, Uint8Array/Buffer and other typed arrays, ArrayBuffer,
 * URL, BigInt, Map, Set). A tagged value is `{"$t": tag, "v": payload}`; a plain object that itself has a `$t`
 * key is wrapped as `{"$t": "Obj", "v": object}` so it can never be mistaken for a tag.
 *
 * Hand-written rather than superjson/devalue: those emit a separate meta tree and are several times slower on the
 * hit path, and none revives Buffer and Uint8Array as distinct types. Walking explicitly (instead of a JSON
 * replacer/reviver) lets decoding run top-down, which is what makes the `Obj` escape sound.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const TAG = '$t';

function tagged(tag: string, v: Json, extra?: Record<string, Json>): Json {
  return extra ? { [TAG]: tag, ...extra, v } : { [TAG]: tag, v };
}

function encodeValue(value: unknown, ancestors: Set<object>): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return tagged('BigInt', value.toString());
    return value;
  }
  if (value instanceof Date) return tagged('Date', Number.isNaN(value.getTime()) ? null : value.toISOString());
  if (ArrayBuffer.isView(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (Buffer.isBuffer(value)) return tagged('Buffer', bytes);
    if (value instanceof Uint8Array) return tagged('Uint8Array', bytes);
    return tagged('TypedArray', bytes, { c: value.constructor.name });
  }
  if (value instanceof ArrayBuffer) return tagged('ArrayBuffer', Buffer.from(value).toString('base64'));
  if (value instanceof URL) return tagged('URL', value.href);
  if (ancestors.has(value)) {
    throw new LlmemoError('UNSERIALIZABLE_VALUE', 'The value to cache is circular; it cannot be stored.');
  }
  ancestors.add(value);
  try {
    if (value instanceof Map) {
      return tagged('Map', [...value].map(([k, v]) => [encodeValue(k, ancestors), encodeValue(v, ancestors)]) as Json);
    }
    if (value instanceof Set) return tagged('Set', [...value].map((v) => encodeValue(v, ancestors)) as Json);
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        const encoded = encodeValue(item, ancestors);
        if (encoded !== item) {
          copy ??= value.slice();
          copy[i] = encoded;
        }
      }
      return copy ?? value;
    }
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
    const record = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(record)) {
      const item = record[key];
      const encoded = encodeValue(item, ancestors);
      if (encoded !== item) {
        copy ??= { ...record };
        copy[key] = encoded;
      }
    }
    const out = copy ?? record;
    return Object.hasOwn(out, TAG) ? { [TAG]: 'Obj', v: out } : out;
  } finally {
    ancestors.delete(value);
  }
}

/** Encodes a value to JSON text that `decode` turns back into an equal value. */
export function encode(value: unknown): string {
  const json = JSON.stringify(encodeValue(value, new Set()));
  if (json === undefined) throw new LlmemoError('UNSERIALIZABLE_VALUE', 'The value to cache is not serializable.');
  return json;
}

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBufferLike, offset: number, length: number) => ArrayBufferView> = {
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

function bytesOf(payload: unknown): Buffer {
  if (typeof payload !== 'string') throw new TypeError('binary payload is not a string');
  return Buffer.from(payload, 'base64');
}

function reviveTag(node: Record<string, unknown>): unknown {
  const v = node.v;
  switch (node[TAG]) {
    case 'Date':
      return new Date(v === null ? Number.NaN : (v as string));
    case 'Buffer':
      return bytesOf(v);
    case 'Uint8Array': {
      const bytes = bytesOf(v);
      // A fresh, exactly sized Uint8Array (not a Buffer view into Node's shared pool).
      return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    }
    case 'ArrayBuffer': {
      const bytes = bytesOf(v);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    case 'TypedArray': {
      const Ctor = TYPED_ARRAYS[node.c as string];
      if (!Ctor) throw new TypeError(`unknown typed array ${String(node.c)}`);
      const bytes = bytesOf(v);
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const width = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      return new Ctor(buffer, 0, bytes.byteLength / width);
    }
    case 'URL':
      return new URL(v as string);
    case 'BigInt':
      return BigInt(v as string);
    case 'Map':
      return new Map((v as [unknown, unknown][]).map(([k, item]) => [decodeNode(k), decodeNode(item)]));
    case 'Set':
      return new Set((v as unknown[]).map(decodeNode));
    case 'Obj':
      decodeChildren(v as Record<string, unknown>);
      return v;
    default:
      throw new TypeError(`unknown tag ${String(node[TAG])}`);
  }
}

function decodeChildren(node: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const item = node[i];
      if (item !== null && typeof item === 'object') node[i] = decodeNode(item);
    }
    return;
  }
  for (const key in node) {
    const item = node[key];
    if (item !== null && typeof item === 'object') node[key] = decodeNode(item);
  }
}

function decodeNode(node: unknown): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (!Array.isArray(node) && typeof (node as Record<string, unknown>)[TAG] === 'string') {
    return reviveTag(node as Record<string, unknown>);
  }
  decodeChildren(node as Record<string, unknown>);
  return node;
}

/** Decodes text from `encode`. Throws on anything else (callers treat that as a corrupt entry). */
export function decode<T = unknown>(text: string): T {
  return decodeNode(JSON.parse(text)) as T;
}

/**
 * A deep copy of a value `decode` returned, with the same types (the revived Dates, bytes, URLs, Maps and Sets are
 * new objects too). Strings are immutable and shared, so a copy costs one allocation per object, not per byte: for
 * a typical answer several times cheaper than decoding the text again. Hand-written because structuredClone
 * serializes through the host (slower than JSON.parse here) and turns Buffers into plain Uint8Arrays.
 */
export function copyDecoded<T>(value: T): T {
  return copyNode(value) as T;
}

function copyNode(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyNode(value[i]);
    return out;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source)) {
      // JSON.parse makes `__proto__` an own property; assigning it would set the copy's prototype instead.
      if (key === '__proto__') {
        Object.defineProperty(out, key, {
          value: copyNode(source[key]),
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        out[key] = copyNode(source[key]);
      }
    }
    return out;
  }
  return copySpecial(value);
}

/** The revived types: each copied into a new object of the same type. */
function copySpecial(value: object): unknown {
  if (value instanceof Date) return new Date(value.getTime());
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof ArrayBuffer) return value.slice(0);
  if (ArrayBuffer.isView(value)) {
    const Ctor = value.constructor as new (source: ArrayBufferView) => ArrayBufferView;
    return new Ctor(value);
  }
  if (value instanceof URL) return new URL(value.href);
  if (value instanceof Map) return new Map([...value].map(([k, item]) => [copyNode(k), copyNode(item)]));
  if (value instanceof Set) return new Set([...value].map(copyNode));
  // decode never returns anything else (an object with a null prototype included); copied field by field anyway.
  const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(value));
  for (const key of Object.keys(value)) out[key] = copyNode((value as Record<string, unknown>)[key]);
  return out;
}
