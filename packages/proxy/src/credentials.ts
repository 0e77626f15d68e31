import { isCredentialName } from '@llmemo/core';
import type { HeaderSource } from './request.js';

/**
 * The credentials a request carries for the upstream. They decide the tenant (each distinct set of credentials
 * gets its own namespace) and are never part of a key, an entry or a log line.
 */

/** Headers that carry an API credential with the common OpenAI-compatible upstreams. */
export const CREDENTIAL_HEADERS: readonly string[] = Object.freeze([
  'authorization', // OpenAI and most others: `Bearer <key>`
  'x-api-key', // Anthropic
  'api-key', // Azure OpenAI
  'x-goog-api-key', // Google Gemini
  'ocp-apim-subscription-key', // Azure API Management
  'cf-aig-authorization', // Cloudflare AI Gateway
  'cookie', // session-authenticated gateways
]);

/** Query parameters that carry an API credential (`?key=` for Gemini, `?api-key=` for some Azure gateways). */
export const CREDENTIAL_PARAMS: readonly string[] = Object.freeze(['api-key', 'key']);

/**
 * A query parameter that carries a credential: one named here or by the operator, or any name core treats as a
 * credential (`api_key`, `access_token`, `sig`, `…secret`, …). Credentials choose the namespace, never the key.
 */
export function isCredentialParam(name: string, names: CredentialNames): boolean {
  return names.params.includes(name) || isCredentialName(name);
}

export interface CredentialNames {
  headers: readonly string[];
  params: readonly string[];
}

/** The token of `Bearer <token>`, or the whole value for other schemes. */
function token(value: string): string {
  const trimmed = value.trim();
  const match = /^bearer\s+(.+)$/i.exec(trimmed);
  return match ? match[1]!.trim() : trimmed;
}

/** The cookie pairs in a stable order, so cookie order does not split a tenant. */
function cookies(value: string): string {
  return value
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .sort()
    .join('; ');
}

/**
 * Every credential value the request carries, deduplicated and sorted. Values are not labelled by where they came
 * from: one key sent as `Authorization` or `api-key` is one tenant, and nobody can reach a namespace without
 * holding all of its values.
 */
export function credentialsOf(
  headers: HeaderSource,
  query: URLSearchParams | undefined,
  names: CredentialNames,
): string[] {
  const values = new Set<string>();
  for (const name of names.headers) {
    const value = headers.get(name);
    if (value === null) continue;
    const credential = name === 'cookie' ? cookies(value) : token(value);
    if (credential !== '') values.add(credential);
  }
  if (query) {
    for (const [name, value] of query) if (value !== '' && isCredentialParam(name, names)) values.add(value);
  }
  return [...values].sort();
}
