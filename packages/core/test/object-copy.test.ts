import { describe, expect, it } from 'vitest';
import { copyWithout } from '../src/index.js';

describe('copyWithout', () => {
  it('copies every own enumerable property but the skipped ones, in order, leaving the source alone', () => {
    const source = { prompt: 'p', temperature: 0.2, tools: [], seed: 7 };
    const copy = copyWithout(source, (name) => name === 'prompt' || name === 'tools');
    expect(Object.keys(copy)).toEqual(['temperature', 'seed']);
    expect(copy).toEqual({ temperature: 0.2, seed: 7 });
    expect(source).toEqual({ prompt: 'p', temperature: 0.2, tools: [], seed: 7 });
  });

  it("keeps an own __proto__ key as data, never as the copy's prototype", () => {
    const source = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as object;
    const copy = copyWithout(source, () => false);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ polluted: true });
  });
});
