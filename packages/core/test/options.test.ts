import { describe, expect, it } from 'vitest';
import { createCache, LlmemoError, parseDuration } from '../src/index.js';

function optionsError(fn: () => unknown): LlmemoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LlmemoError);
    expect((error as LlmemoError).code).toBe('INVALID_OPTIONS');
    return error as LlmemoError;
  }
  throw new Error('expected INVALID_OPTIONS');
}

describe('createCache rejects bad options at construction', () => {
  it.each([
    ['ttl', { ttl: '7 parsecs' }, /ttl.*'90s'.*'7d'/],
    ['ttl negative', { ttl: -5 }, /ttl/],
    [
      'store scheme',
      { store: 'ftp://x' },
      /store must be 'memory:\/\/', 'sqlite:\/\/<path>', 'file:\/\/<dir>', 'redis:\/\/…'.*"ftp:\/\/…"/,
    ],
    ['store path', { store: 'sqlite://' }, /needs a path/],
    ['store object', { store: 42 }, /store must be/],
    ['timeoutMs', { timeoutMs: -1 }, /timeoutMs must be a positive integer/],
    ['mode', { mode: 'sometimes' }, /mode must be one of 'read-write', 'read-only', 'refresh', 'replay', 'off'/],
    ['namespace', { namespace: '' }, /namespace must be a non-empty string/],
    ['normalize', { normalize: 'loose' }, /normalize must be 'default', 'none'/],
    ['normalize flag', { normalize: { lowercase: true } }, /normalize has no option 'lowercase'/],
    ['maxEntryBytes', { maxEntryBytes: 0 }, /maxEntryBytes must be a positive integer/],
    ['memory bounds', { store: 'memory://?maxEntries=lots' }, /maxEntries/],
    ['unknown option', { tll: '1h' }, /no option 'tll'/],
    ['key', { key: 'abc' }, /key must be a function/],
  ])('%s', (_name, options, message) => {
    const error = optionsError(() => createCache(options as never));
    expect(error.message).toMatch(message);
  });

  it('validates per-call options before computing', async () => {
    const cache = createCache();
    let called = false;
    await expect(
      cache.getOrCompute({ kind: 'chat', provider: 'p', model: 'm', input: 'x' }, async () => (called = true), {
        ttl: 'soon',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('ttl') });
    await expect(
      cache.getOrCompute({ kind: 'chat', provider: 'p', model: 'm', input: 'x' }, async () => (called = true), {
        mode: 'x' as never,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(called).toBe(false);
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    [1234, 1234],
  ])('%s', (input, ms) => {
    expect(parseDuration(input, 'ttl')).toBe(ms);
  });
});
