/**
 * What adapters put in `CacheRequest.endpoint`: where a request goes, without the credentials that often ride in
 * the same URL. Both adapters (and anything else that keys by endpoint) read a model's base URL, deployment or
 * region and turn it into one string here, so the same endpoint always gives the same label.
 */

/**
 * Query parameters that carry credentials rather than select an endpoint: `?key=` (Gemini), `?api-key=` (Azure),
 * SAS signatures, OAuth tokens. Compared case- and separator-insensitively; any name ending in `apikey`, `token`,
 * `secret` or `signature` counts too.
 */
const CREDENTIAL_PARAMS = new Set([
  'key',
  'code',
  'sig',
  'auth',
  'password',
  'authorization',
  'credential',
  'credentials',
  'xamzcredential',
  'xamzsecuritytoken',
  'xamzsignature',
  'xgoogcredential',
  'xgoogsignature',
]);

/** True for query parameter or field names that carry credentials (`key`, `api-key`, `access_token`, `sig`, …). */
export function isCredentialName(name: string): boolean {
  const folded = name.toLowerCase().replace(/[-_.\s]/g, '');
  return (
    CREDENTIAL_PARAMS.has(folded) ||
    folded.endsWith('apikey') ||
    folded.endsWith('token') ||
    folded.endsWith('secret') ||
    folded.endsWith('signature')
  );
}

/**
 * A URL as an endpoint label: user info (`user:pass@`) and credential query parameters removed, the remaining
 * parameters in canonical order (so `?a=1&b=2` and `?b=2&a=1` are one endpoint), the path kept exactly (two base
 * paths on one host are two endpoints). Text that is not an absolute http(s) or ws(s) URL is returned as it is.
 */
export function endpointOfUrl(url: string): string {
  if (!/^(https?|wss?):\/\//i.test(url)) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  const kept = [...parsed.searchParams].filter(([name]) => !isCredentialName(name));
  kept.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  parsed.search = new URLSearchParams(kept).toString();
  return parsed.toString();
}

function clean(value: unknown): unknown {
  if (typeof value === 'string') return endpointOfUrl(value);
  if (Array.isArray(value)) return value.map(clean);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[name];
    if (item === undefined || typeof item === 'function' || isCredentialName(name)) continue;
    out[name] = clean(item);
  }
  return out;
}

/**
 * One endpoint label from named parts (`{ url }`, `{ deployment, instance, apiVersion }`, `{ scope }`): undefined
 * parts, functions and credential-named parts are dropped, URLs are cleaned with `endpointOfUrl`, and the rest is
 * written as sorted JSON, so distinct parts never give one label. Undefined when nothing is left.
 */
export function endpointLabel(parts: Record<string, unknown>): string | undefined {
  const cleaned = clean(parts) as Record<string, unknown>;
  return Object.keys(cleaned).length === 0 ? undefined : JSON.stringify(cleaned);
}
