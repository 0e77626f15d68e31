import { describe, expect, it } from 'vitest';
import { bypasses, directivesOf, namespaceOf } from '../src/directives.js';
import { resolveProxyOptions } from '../src/options.js';

const options = resolveProxyOptions({ upstream: 'https://api.openai.com' });
const endpoint = { ttl: undefined };
const read = (headers: Record<string, string>) => directivesOf(new Headers(headers), endpoint, options);

describe('request directives', () => {
  it('reads Cache-Control in any case and order', () => {
    expect(read({})).toEqual({ namespace: 'anonymous', mode: 'read-write', noStore: false });
    expect(read({ 'cache-control': 'No-Cache' })).toMatchObject({ mode: 'refresh' });
    expect(read({ 'cache-control': 'max-age="60", no-store' })).toMatchObject({ ttl: 60_000, noStore: true });
    expect(read({ 'cache-control': 'private, max-age=0' })).toMatchObject({ ttl: 0 });
    expect(bypasses(read({ 'cache-control': 'no-cache, no-store' }))).toBe(true);
    expect(bypasses(read({ 'cache-control': 'no-store' }))).toBe(false);
  });

  it('x-llmemo-mode wins over no-cache', () => {
    expect(read({ 'cache-control': 'no-cache', 'x-llmemo-mode': 'read-only' })).toMatchObject({ mode: 'read-only' });
    expect(bypasses(read({ 'x-llmemo-mode': 'off' }))).toBe(true);
  });

  it('an endpoint ttl is the default; max-age overrides it', () => {
    const withTtl = { ttl: 5000 };
    expect(directivesOf(new Headers(), withTtl, options).ttl).toBe(5000);
    expect(directivesOf(new Headers({ 'cache-control': 'max-age=2' }), withTtl, options).ttl).toBe(2000);
  });
});

describe('namespaces', () => {
  it('hash the API key from Authorization or api-key, never keeping it', () => {
    const bearer = namespaceOf(new Headers({ authorization: 'Bearer sk-one' }), options);
    expect(bearer).toMatch(/^key-[0-9a-f]{32}$/);
    expect(bearer).not.toContain('sk-one');
    expect(namespaceOf(new Headers({ 'api-key': 'sk-one' }), options)).toBe(bearer);
    expect(namespaceOf(new Headers({ authorization: 'Bearer sk-two' }), options)).not.toBe(bearer);
  });

  it('take x-llmemo-namespace when allowed, and reject an empty one', () => {
    const headers = new Headers({ authorization: 'Bearer sk-one', 'x-llmemo-namespace': 'team' });
    expect(namespaceOf(headers, options)).toBe('team');
    const strict = resolveProxyOptions({ upstream: 'https://api.openai.com', namespaceHeader: false });
    expect(namespaceOf(headers, strict)).toMatch(/^key-/);
    expect(() => namespaceOf(new Headers({ 'x-llmemo-namespace': ' ' }), options)).toThrow(/1 to 256 characters/);
  });
});
