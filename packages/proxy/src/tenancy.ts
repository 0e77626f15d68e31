import { createHash, timingSafeEqual } from 'node:crypto';
import { credentialsOf } from './credentials.js';
import { BadRequest } from './errors.js';
import type { NamespaceSecret } from './namespace-secret.js';
import type { ResolvedProxyOptions } from './options.js';
import type { HeaderSource } from './request.js';

/** Whose entries a request may read and write, or why it goes upstream uncached. */
export type Tenancy = { namespace: string; bypass?: undefined } | { namespace?: undefined; bypass: string };

const MAX_SUB_NAMESPACE = 128;
/** Visible ASCII only: header values are bytes, and a namespace must be one well-formed, printable label. */
const SUB_NAMESPACE = /^[\x21-\x7e]+$/;
/** Credential namespaces look like this; no name a client gives may, so none can be reached by name. */
export const DERIVED_PREFIX = 'key-';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time equality (of digests, so the length does not leak either). */
export function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

export function secretDigest(secret: string): Buffer {
  return digest(secret);
}

/**
 * Whether an Authorization header carries `Bearer <secret>` for the expected digest, in constant time. The admin API
 * and the dashboard's API both take the admin token only this way: never in a URL or a cookie.
 */
export function bearerMatches(authorization: string | null | undefined, expected: Buffer): boolean {
  const match = /^bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
  return match !== null && sameSecret(match[1]!.trim(), expected);
}

function subNamespaceOf(headers: HeaderSource): string | undefined {
  const explicit = headers.get('x-llmemo-namespace');
  if (explicit === null) return undefined;
  const name = explicit.trim();
  if (name.length === 0 || name.length > MAX_SUB_NAMESPACE || !SUB_NAMESPACE.test(name)) {
    throw new BadRequest(
      `x-llmemo-namespace must be 1 to ${MAX_SUB_NAMESPACE} visible ASCII characters (letters, digits, punctuation); leave it out to use your credential's own namespace.`,
      'invalid_llmemo_namespace',
    );
  }
  return name;
}

/** The raw namespace a trusted caller (holding the namespace token) names, or undefined. */
function trustedNamespace(
  headers: HeaderSource,
  options: ResolvedProxyOptions,
  name: string | undefined,
): string | undefined {
  const token = headers.get('x-llmemo-namespace-token');
  if (token === null) return undefined;
  if (!options.namespaceTokenDigest || !sameSecret(token.trim(), options.namespaceTokenDigest)) {
    throw new BadRequest(
      'x-llmemo-namespace-token is not the token this proxy trusts (LLMEMO_NAMESPACE_TOKEN). Leave it out to use your credential namespace.',
      'invalid_namespace_token',
      null,
      403,
    );
  }
  if (name === undefined) {
    throw new BadRequest(
      'x-llmemo-namespace-token needs x-llmemo-namespace: the shared namespace to use.',
      'invalid_llmemo_namespace',
    );
  }
  if (name.startsWith(DERIVED_PREFIX)) {
    throw new BadRequest(
      `A shared namespace cannot start with '${DERIVED_PREFIX}': those are the credential namespaces.`,
      'invalid_llmemo_namespace',
    );
  }
  return name;
}

/**
 * Each set of credentials gets its own namespace, derived by HMAC under the server secret: two credentials never
 * share an entry, a credential is never stored, and a namespace name cannot be turned back into a way in.
 * `x-llmemo-namespace` names a sub-namespace inside the caller's own; only a caller holding the operator's
 * namespace token may name a shared namespace outright. No recognised credential: uncached, unless the operator
 * set a shared anonymous namespace.
 */
export async function tenancyOf(
  headers: HeaderSource,
  query: URLSearchParams | undefined,
  options: ResolvedProxyOptions,
  secret: NamespaceSecret,
): Promise<Tenancy> {
  const sub = options.namespaceHeader ? subNamespaceOf(headers) : undefined;
  const trusted = options.namespaceHeader ? trustedNamespace(headers, options, sub) : undefined;
  if (trusted !== undefined) return { namespace: trusted };
  const credentials = credentialsOf(headers, query, options.credentials);
  let base: string;
  if (credentials.length > 0) {
    const key = await secret.get();
    if (!key) return { bypass: 'namespace-secret-unavailable' };
    base = secret.namespaceOf(key, credentials);
  } else if (options.anonymousNamespace !== undefined) {
    base = options.anonymousNamespace;
  } else {
    return { bypass: 'no-credential' };
  }
  return { namespace: sub === undefined ? base : `${base}/${sub}` };
}
