import { describe, expect, it } from 'vitest';
import { decode, encode } from '../src/index.js';

describe('value codec', () => {
  it('round-trips Date, Uint8Array, Buffer, typed arrays, ArrayBuffer, URL, BigInt, Map and Set', () => {
    const value = {
      timestamp: new Date('2026-01-02T03:04:05.678Z'),
      invalid: new Date(Number.NaN),
      bytes: Uint8Array.from([0, 1, 2, 255]),
      buffer: Buffer.from('hello'),
      floats: Float32Array.from([0.5, -1.25]),
      raw: Uint8Array.from([9, 8]).buffer,
      url: new URL('https://example.com/a?b=c'),
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([['a', new Date(0)]]),
      set: new Set([1, 'two']),
      nested: [{ when: new Date(1) }, null, 'text', 3],
    };
    const back = decode<typeof value>(encode(value));
    expect(back).toEqual(value);
    expect(back.timestamp).toBeInstanceOf(Date);
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.bytes)).toBe(false);
    expect(Buffer.isBuffer(back.buffer)).toBe(true);
    expect(back.floats).toBeInstanceOf(Float32Array);
    expect(back.url).toBeInstanceOf(URL);
    expect(typeof back.big).toBe('bigint');
    expect(Number.isNaN(back.invalid.getTime())).toBe(true);
  });

  it('never mistakes a user object with a $t key for a tag', () => {
    const value = { $t: 'Date', v: 'not a date', inner: { $t: 'Obj', v: { $t: 'URL' } } };
    expect(decode(encode(value))).toEqual(value);
  });

  it('returns fresh objects on every decode', () => {
    const text = encode({ list: [1, 2] });
    const a = decode<{ list: number[] }>(text);
    a.list.push(3);
    expect(decode<{ list: number[] }>(text).list).toEqual([1, 2]);
  });

  it('rejects circular values and corrupt text', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => encode(circular)).toThrowError(expect.objectContaining({ code: 'UNSERIALIZABLE_VALUE' }));
    expect(() => decode('{"a":')).toThrow();
    expect(() => decode('{"$t":"Nope","v":1}')).toThrow();
  });
});
