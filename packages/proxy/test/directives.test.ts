import { createMemoryStore } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { credentialsOf } from '../src/credentials.js';
import { bypasses, directivesOf } from '../src/directives.js';
import { credentialNamespace, NAMESPACE_MEMO_SIZE, NamespaceSecret } from '../src/namespace-secret.js';
import { resolveProxyOptions } from '../src/options.js';
import { tenancyOf } from '../src/tenancy.js';

const options = resolveProxyOptions({ upstream: 'https://api.openai.com' });
const endpoint = { ttl: undefined };
const read = (headers: Record<string, string>) => directivesOf(new Headers(headers), endpoint, options);

describe('request directives', () => {
  it('reads Cache-Control in any case and order', () => {
    expect(read({})).toEqual({ mode: 'read-write', noStore: false });
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

describe('tenancy', () => {
  const store = createMemoryStore();
  const secret = new NamespaceSecret(store as never, 'a-secret-of-sixteen-chars');
  const tenancy = (headers: Record<string, string>, query?: string, opts = options) =>
    tenancyOf(new Headers(headers), query === undefined ? undefined : new URLSearchParams(query), opts, secret);

  it('keys each set of credentials with an HMAC, from any header they come in, never keeping them', async () => {
    const bearer = await tenancy({ authorization: 'Bearer sk-one' });
    expect(bearer.namespace).toMatch(/^key-[0-9a-f]{32}$/);
    expect(bearer.namespace).not.toContain('sk-one');
    expect((await tenancy({ 'api-key': 'sk-one' })).namespace).toBe(bearer.namespace);
    expect((await tenancy({}, 'key=sk-one')).namespace).toBe(bearer.namespace);
    expect((await tenancy({ authorization: 'Bearer sk-two' })).namespace).not.toBe(bearer.namespace);
    // Two credentials together are a tenant of their own: holding one of them is not enough.
    const both = await tenancy({ authorization: 'Bearer sk-one', 'cf-aig-authorization': 'Bearer gw' });
    expect(both.namespace).not.toBe(bearer.namespace);
    expect(credentialsOf(new Headers({ cookie: 'b=2; a=1' }), undefined, options.credentials)).toEqual(['a=1; b=2']);
  });

  it('no credential: bypass, unless a shared anonymous namespace is configured', async () => {
    expect(await tenancy({})).toEqual({ bypass: 'no-credential' });
    const open = resolveProxyOptions({ upstream: 'https://api.openai.com', anonymousNamespace: 'public' });
    expect(await tenancy({}, undefined, open)).toEqual({ namespace: 'public' });
    expect(await tenancy({ 'x-llmemo-namespace': 'team' }, undefined, open)).toEqual({ namespace: 'public/team' });
  });

  it('x-llmemo-namespace is a sub-namespace, validated; ignored when turned off', async () => {
    const base = (await tenancy({ authorization: 'Bearer sk-one' })).namespace;
    const headers = { authorization: 'Bearer sk-one', 'x-llmemo-namespace': 'team' };
    expect((await tenancy(headers)).namespace).toBe(`${base}/team`);
    const strict = resolveProxyOptions({ upstream: 'https://api.openai.com', namespaceHeader: false });
    expect((await tenancy(headers, undefined, strict)).namespace).toBe(base);
    await expect(tenancy({ ...headers, 'x-llmemo-namespace': ' ' })).rejects.toThrow(/1 to 128 visible ASCII/);
  });
});

describe('the remembered credential namespaces', () => {
  const store = createMemoryStore();
  const key = (byte: number) => Buffer.alloc(32, byte);

  it('are the HMAC of exactly those credentials: two sets never share one, however alike', () => {
    const secret = new NamespaceSecret(store as never, 'a-secret-of-sixteen-chars');
    const under = key(1);
    // Sets that join, trim or concatenate to the same text, and single characters apart.
    const sets = [['sk-a'], ['sk-b'], ['sk-a', 'sk-b'], ['sk-a,sk-b'], ['sk-asl-b'], ['sk-a '], ['sk-A'], ['a=1; b=2']];
    const seen = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (const credentials of sets) {
        const namespace = secret.namespaceOf(under, credentials);
        expect(namespace).toBe(credentialNamespace(under, credentials));
        const text = JSON.stringify(credentials);
        expect(seen.get(namespace) ?? text).toBe(text);
        seen.set(namespace, text);
      }
    }
    expect(seen.size).toBe(sets.length);
  });

  it('are valid only under the secret they were derived with: another secret derives (and keeps) its own', () => {
    const secret = new NamespaceSecret(store as never, 'a-secret-of-sixteen-chars');
    const before = secret.namespaceOf(key(1), ['sk-one']);
    const after = secret.namespaceOf(key(2), ['sk-one']);
    expect(after).not.toBe(before);
    expect(after).toBe(credentialNamespace(key(2), ['sk-one']));
    expect(secret.remembered).toBe(1);
    expect(secret.namespaceOf(key(2), ['sk-one'])).toBe(after);
    expect(secret.namespaceOf(key(1), ['sk-one'])).toBe(before);
  });

  it('are bounded: the least recently used goes first, and comes back right', () => {
    const secret = new NamespaceSecret(store as never, 'a-secret-of-sixteen-chars');
    const under = key(3);
    secret.namespaceOf(under, ['kept']);
    for (let i = 0; i < NAMESPACE_MEMO_SIZE + 50; i++) {
      secret.namespaceOf(under, [`sk-${i}`]);
      // Used all along, so never the oldest.
      if (i % 100 === 0) secret.namespaceOf(under, ['kept']);
    }
    expect(secret.remembered).toBe(NAMESPACE_MEMO_SIZE);
    expect(secret.namespaceOf(under, ['sk-0'])).toBe(credentialNamespace(under, ['sk-0']));
    expect(secret.namespaceOf(under, ['kept'])).toBe(credentialNamespace(under, ['kept']));
    expect(secret.remembered).toBe(NAMESPACE_MEMO_SIZE);
  });
});
