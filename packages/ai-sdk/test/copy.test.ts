// The hit path's copies (copy.ts) stand in for object spreads: they must give exactly what the spread gave.
import { copyOf, createCache, withProperty } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { chatRequest } from '../src/chat-request.js';

const MODEL = { provider: 'openai.chat', modelId: 'gpt-4o-mini' };

describe('copyOf and withProperty', () => {
  it('copy own enumerable properties, in order, like a spread, and never the source itself', () => {
    const proto = { inherited: 1 };
    const source = Object.assign(Object.create(proto), { b: 2, a: 1 });
    Object.defineProperty(source, 'hidden', { value: 3, enumerable: false });
    const symbol = Symbol('s');
    source[symbol] = 4;
    const copy = copyOf(source);
    expect(copy).not.toBe(source);
    expect(Object.keys(copy)).toEqual(['b', 'a']);
    expect(copy).toEqual({ ...source });
    expect((copy as Record<symbol, unknown>)[symbol]).toBe(4);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copyOf(undefined)).toEqual({});
    expect(copyOf(null)).toEqual({});
  });

  it('keep an own __proto__ property (from JSON) an own property, never the prototype', () => {
    const source = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as object;
    const copy = withProperty(source, 'b', 2);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(copy)).toEqual(['__proto__', 'a', 'b']);
    expect(JSON.stringify(copy)).toBe(JSON.stringify({ ...source, b: 2 }));
  });

  it('set the property last, or in its place when the source has it, and leave the source alone', () => {
    const source = { llmemo: 'old', openai: { id: 'x' } };
    const copy = withProperty(source, 'llmemo', 'new');
    expect(Object.keys(copy)).toEqual(['llmemo', 'openai']);
    expect(copy).toEqual({ llmemo: 'new', openai: { id: 'x' } });
    expect(source.llmemo).toBe('old');
    expect(Object.keys(withProperty({ a: 1 }, 'b', 2))).toEqual(['a', 'b']);
  });
});

describe('chatRequest params', () => {
  it('leave out the prompt, and tools and the auto tool choice only when there are no tools', () => {
    const prompt = [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }];
    const params = { prompt, tools: [], toolChoice: { type: 'auto' }, temperature: 0 };
    const request = chatRequest(MODEL, 'v4', params as never, 'positional', undefined);
    expect(request.params).toEqual({ temperature: 0 });
    expect(request.input).toBe(prompt);
    expect(params).toEqual({ prompt, tools: [], toolChoice: { type: 'auto' }, temperature: 0 });
    const tools = [{ type: 'function', name: 'f', inputSchema: {} }];
    const withTools = chatRequest(
      MODEL,
      'v4',
      { prompt, tools, toolChoice: { type: 'auto' } } as never,
      'exact',
      undefined,
    );
    expect(withTools.params).toEqual({ tools, toolChoice: { type: 'auto' } });
    const required = chatRequest(
      MODEL,
      'v4',
      { prompt, toolChoice: { type: 'required' } } as never,
      'exact',
      undefined,
    );
    expect(required.params).toEqual({ toolChoice: { type: 'required' } });
  });

  it('key an own __proto__ param as data: two calls that differ only there never share a key', () => {
    const cache = createCache();
    const prompt = [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }];
    const one = JSON.parse('{"__proto__":{"temperature":1}}') as object;
    const two = JSON.parse('{"__proto__":{"temperature":2}}') as object;
    const a = chatRequest(MODEL, 'v4', { prompt, ...one } as never, 'positional', undefined);
    const b = chatRequest(MODEL, 'v4', { prompt, ...two } as never, 'positional', undefined);
    expect(Object.getPrototypeOf(a.params)).toBe(Object.prototype);
    expect(Object.keys(a.params!)).toEqual(['__proto__']);
    expect(cache.key(a)).not.toBe(cache.key(b));
  });
});
