import { describe, expect, it } from 'vitest';
import { DEFAULT_NORMALIZATION } from '../src/canonicalize.js';
import { LlmemoError } from '../src/errors.js';
import {
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_STATS_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL_MS,
  resolveCacheOptions,
} from '../src/options.js';
import { isTransientError } from '../src/transient.js';

describe('resolveCacheOptions', () => {
  it('applies every default and freezes the result', () => {
    const config = resolveCacheOptions({});
    expect(config).toMatchObject({
      namespace: 'default',
      defaults: {
        mode: 'read-write',
        ttl: DEFAULT_TTL_MS,
        namespace: 'default',
        noStore: false,
        staleWhileRevalidate: 0,
        staleIfError: 0,
      },
      timeoutMs: DEFAULT_TIMEOUT_MS,
      maxEntryBytes: DEFAULT_MAX_ENTRY_BYTES,
      statsIntervalMs: DEFAULT_STATS_INTERVAL_MS,
      pruneIntervalMs: undefined,
      bounds: undefined,
      breaker: { threshold: 5, cooldownMs: 5000 },
      crossProcess: undefined,
      compression: undefined,
    });
    expect(config.isTransientError).toBe(isTransientError);
    expect(config.derivation.normalization).toEqual(DEFAULT_NORMALIZATION);
    expect(config.derivation.excludedParams.size).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.defaults)).toBe(true);
    expect(() => {
      (config as { namespace: string }).namespace = 'other';
    }).toThrow(TypeError);
  });

  it('resolves durations, lists and switches', () => {
    const transient = () => true;
    const config = resolveCacheOptions({
      namespace: 'tenant-a',
      ttl: '1h',
      staleWhileRevalidate: '30s',
      staleIfError: '1m',
      persistStats: '30s',
      pruneInterval: '5m',
      maxEntries: 10,
      maxBytes: 4096,
      excludeParams: ['seed'],
      includeHeaders: ['Anthropic-Beta'],
      isTransientError: transient,
      breaker: { threshold: 2, cooldown: '1s' },
      crossProcessCoalescing: { wait: '2s' },
    });
    expect(config.defaults).toMatchObject({ ttl: 3_600_000, staleWhileRevalidate: 30_000, staleIfError: 60_000 });
    expect(config.defaults.namespace).toBe('tenant-a');
    expect(config.statsIntervalMs).toBe(30_000);
    expect(config.pruneIntervalMs).toBe(300_000);
    expect(config.bounds).toEqual({ maxEntries: 10, maxBytes: 4096 });
    expect(config.derivation.excludedParams.has('seed')).toBe(true);
    expect(config.derivation.headerAllowlist.has('anthropic-beta')).toBe(true);
    expect(config.isTransientError).toBe(transient);
    expect(config.breaker).toEqual({ threshold: 2, cooldownMs: 1000 });
    expect(config.crossProcess).toMatchObject({ waitMs: 2000 });
  });

  it('maps the off switches: persistStats false, pruneInterval false, breaker false', () => {
    const config = resolveCacheOptions({ persistStats: false, pruneInterval: false, breaker: false });
    expect(config.statsIntervalMs).toBeUndefined();
    expect(config.pruneIntervalMs).toBe(0);
    expect(config.breaker).toBeUndefined();
  });

  it.each([
    [null, /takes an options object/],
    [{ tll: 1 }, /no option 'tll'/],
    [{ isTransientError: 'yes' }, /isTransientError must be a function/],
    [{ breaker: 3 }, /breaker must be false or/],
    [{ breaker: { threshold: 0 } }, /breaker.threshold must be a positive integer/],
    [{ logger: 'console' }, /logger must be an object/],
    [{ excludeParams: 'seed' }, /excludeParams must be an array of strings/],
    [{ includeHeaders: [1] }, /includeHeaders must be an array of strings/],
    [{ persistStats: {} }, /persistStats must be true, false or an interval/],
    [{ pruneInterval: 'often' }, /pruneInterval/],
    [{ maxEntries: 1.5 }, /maxEntries must be a positive integer/],
    [{ maxBytes: -1 }, /maxBytes must be a positive integer/],
  ])('rejects %j with INVALID_OPTIONS', (options, message) => {
    let caught: unknown;
    try {
      resolveCacheOptions(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LlmemoError);
    expect(caught).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringMatching(message) });
  });

  it('opens nothing: a store URL is only carried, not connected', () => {
    const config = resolveCacheOptions({ store: 'redis://127.0.0.1:1', redis: {} });
    expect(config.store).toBe('redis://127.0.0.1:1');
  });
});
