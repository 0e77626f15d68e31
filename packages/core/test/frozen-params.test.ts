// Deeply frozen params are walked once per cache (see writeParams in src/key.ts): the memo must give exactly the
// key a walk gives, and must never hold on to text for params that can still change.
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

const params = () => ({
  temperature: 0,
  tools: [{ name: 'get_weather', schema: { type: 'object', properties: { city: { type: 'string' } } } }],
  headers: { 'openai-beta': 'x', authorization: 'Bearer secret' },
  providerOptions: { openai: { reasoningEffort: 'low' }, llmemo: { ttl: 5 } },
  big: 12n,
});
const request = (p: Record<string, unknown>) => ({
  kind: 'chat',
  provider: 'openai',
  model: 'm',
  input: 'hi',
  params: p,
});

describe('deeply frozen params', () => {
  it('key exactly like the same params unfrozen, every time', () => {
    const cache = createCache({ persistStats: false });
    const frozen = deepFreeze(params());
    const expected = cache.key(request(params()));
    expect(cache.key(request(frozen))).toBe(expected);
    expect(cache.key(request(frozen))).toBe(expected);
    // A different derivation (another cache's excluded params) gets its own text, not the first cache's.
    const other = createCache({ persistStats: false, excludeParams: ['temperature'] });
    expect(other.key(request(frozen))).toBe(other.key(request(params())));
    expect(other.key(request(frozen))).not.toBe(expected);
  });

  it('are walked again when any nested object can still change', () => {
    const cache = createCache({ persistStats: false });
    const nested = { city: 'Paris' };
    const shallow = Object.freeze({ ...params(), where: nested });
    const before = cache.key(request(shallow));
    nested.city = 'Lyon';
    const after = cache.key(request(shallow));
    expect(after).not.toBe(before);
    expect(after).toBe(cache.key(request({ ...params(), where: { city: 'Lyon' } })));
  });

  it('are walked again when a value comes from a getter', () => {
    const cache = createCache({ persistStats: false });
    let temperature = 0;
    const withGetter = Object.freeze(
      Object.defineProperty({ model: 'm' }, 'temperature', { get: () => temperature, enumerable: true }),
    );
    const before = cache.key(request(withGetter));
    temperature = 1;
    expect(cache.key(request(withGetter))).not.toBe(before);
    expect(cache.key(request(withGetter))).toBe(cache.key(request({ model: 'm', temperature: 1 })));
  });
});
