import { describe, expect, it } from 'vitest';
import { LocalTier, resolveLocalTier } from '../src/stores/local-tier.js';

const tier = (maxEntries = 100, maxBytes = 1_000_000) => new LocalTier({ maxEntries, maxBytes });

describe('LocalTier', () => {
  it('keeps what a read brought back, until invalidated', () => {
    const local = tier();
    local.end(local.begin('k'), { value: 'v' });
    expect(local.get('k')).toBe('v');
    local.invalidate('k');
    expect(local.get('k')).toBeUndefined();
  });

  it('never keeps a reply overtaken by an invalidation of its key or by a flush', () => {
    const local = tier();
    const raced = local.begin('k');
    const other = local.begin('other');
    local.invalidate('k');
    local.end(raced, { value: 'old' });
    local.end(other, { value: 'fine' });
    expect(local.get('k')).toBeUndefined();
    expect(local.get('other')).toBe('fine');

    const beforeFlush = local.begin('k');
    local.flush();
    local.end(beforeFlush, { value: 'old' });
    expect(local.get('k')).toBeUndefined();
    expect(local.get('other')).toBeUndefined();

    const underPrefix = local.begin('ns:a');
    local.invalidatePrefix('ns:');
    local.end(underPrefix, { value: 'old' });
    expect(local.get('ns:a')).toBeUndefined();
  });

  it('one overtaken read does not spoil a later one for the same key', () => {
    const local = tier();
    const first = local.begin('k');
    local.invalidate('k');
    const second = local.begin('k');
    local.end(first, { value: 'old' });
    local.end(second, { value: 'new' });
    expect(local.get('k')).toBe('new');
  });

  it('drops an entry past its stored expiry, and never keeps one already past it', () => {
    const local = tier();
    local.end(local.begin('k'), { value: 'v', expires: Date.now() + 1000 });
    expect(local.get('k', Date.now() + 2000)).toBeUndefined();
    expect(local.get('k')).toBeUndefined();
    local.end(local.begin('gone'), { value: 'v', expires: Date.now() - 1 });
    expect(local.size).toBe(0);
  });

  it('is bounded by entries and bytes, least recently used first', () => {
    const byCount = tier(2);
    for (const key of ['a', 'b', 'c']) byCount.end(byCount.begin(key), { value: key });
    expect([byCount.get('a'), byCount.get('b'), byCount.get('c')]).toEqual([undefined, 'b', 'c']);
    const byBytes = tier(100, 100);
    byBytes.end(byBytes.begin('a'), { value: 'x'.repeat(30) });
    byBytes.end(byBytes.begin('b'), { value: 'y'.repeat(30) });
    expect(byBytes.get('a')).toBeUndefined();
    expect(byBytes.get('b')).toBe('y'.repeat(30));
  });
});

describe('LocalTier.suspend', () => {
  it('serves and keeps nothing while suspended, and starts empty after resume', () => {
    const local = tier();
    local.end(local.begin('k'), { value: 'v' });
    const inFlight = local.begin('k');
    local.suspend();
    expect(local.get('k')).toBeUndefined();
    local.end(local.begin('k'), { value: 'v' });
    expect(local.size).toBe(0);
    local.resume();
    local.end(inFlight, { value: 'old' });
    expect(local.get('k')).toBeUndefined();
    local.end(local.begin('k'), { value: 'v2' });
    expect(local.get('k')).toBe('v2');
  });
});

describe('resolveLocalTier', () => {
  it('takes true, false or bounds, and rejects anything else with INVALID_OPTIONS', () => {
    expect(resolveLocalTier(undefined)).toBeUndefined();
    expect(resolveLocalTier(false)).toBeUndefined();
    expect(resolveLocalTier(true)).toEqual({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 });
    expect(resolveLocalTier({ maxEntries: 5 })).toEqual({ maxEntries: 5, maxBytes: 64 * 1024 * 1024 });
    for (const bad of [null, 'yes', 1, [], { maxEntries: -1 }, { maxBytes: 1.5 }, { ttl: 5 }]) {
      expect(() => resolveLocalTier(bad)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    }
  });
});
