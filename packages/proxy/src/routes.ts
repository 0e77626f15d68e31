import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Context } from 'hono';
import { unknownAdminPath } from './admin.js';
import { toResponse } from './answer.js';
import type { ProxyContext } from './context.js';
import { credentialsOf } from './credentials.js';
import { DASHBOARD_PATH } from './dashboard.js';
import { onlyFromCache } from './directives.js';
import { errorAnswer } from './errors.js';
import { forward } from './forward.js';
import type { Step } from './pipeline.js';
import { notFromCache } from './prepare.js';
import { requestOf } from './request.js';
import { secretDigest } from './tenancy.js';
import { requestHeaders } from './upstream.js';

/** The path as an upstream might resolve it: percent-decoded, slashes collapsed, dot segments applied, lower case. */
function normalizedPath(path: string): string {
  let decoded = path;
  for (let i = 0; i < 3 && decoded.includes('%'); i++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      break;
    }
  }
  const segments: string[] = [];
  for (const segment of decoded.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`.toLowerCase();
}

/** Any spelling of a path under /admin (`//admin/stats`, `/%61dmin`, `/v1/../admin`): never forwarded. */
export function isAdminPath(path: string): boolean {
  const normalized = normalizedPath(path);
  // The dashboard is the admin API's page: its fetches carry the admin token, and nothing under it goes upstream.
  return OWN_PREFIXES.some((prefix) => normalized === prefix || normalized.startsWith(`${prefix}/`));
}

const OWN_PREFIXES = ['/admin', DASHBOARD_PATH];

/**
 * Refuses a request that carries one of the proxy's own tokens (admin, namespace) as a credential: it would be
 * sent to the upstream, and those tokens never leave the proxy.
 */
export function keepOwnTokens(context: ProxyContext): Step {
  const own = context.options.ownTokens;
  return async (request, next) => {
    if (own.length > 0 && !isAdminPath(request.pathname)) {
      const { path, headers } = request;
      const mark = path.indexOf('?');
      const query = mark < 0 ? undefined : new URLSearchParams(path.slice(mark + 1));
      const values = credentialsOf(headers, query, context.options.credentials);
      const authorization = headers.get('authorization');
      if (authorization !== null) values.push(authorization.trim());
      for (const value of values) {
        const digest = secretDigest(value);
        if (own.some((token) => token.equals(digest))) {
          return errorAnswer(
            403,
            'This request carries one of the proxy’s own tokens (admin or namespace) as a credential. They are never sent upstream: use your provider API key here.',
            { code: 'proxy_token_not_forwarded' },
          );
        }
      }
    }
    return next();
  };
}

/** Everything that is not the proxy's own nor cached goes upstream untouched, body streamed, never cached. */
export function passThrough(context: ProxyContext, label: 'other' | 'messages' = 'other') {
  return async (c: Context): Promise<Response> => {
    const request = requestOf(c);
    const { method, path, pathname, incoming } = request;
    const mark = path.indexOf('?');
    if (isAdminPath(mark < 0 ? path : path.slice(0, mark))) return unknownAdminPath(method, pathname);
    if (onlyFromCache(request.headers)) return toResponse(notFromCache('not-cached-endpoint'));
    let body: Readable | null = null;
    if (method !== 'GET' && method !== 'HEAD') {
      // On Node the socket is the body, streamed up as it arrives; elsewhere the Web body.
      const web = incoming ? null : request.webBody();
      body = incoming ?? (web ? Readable.fromWeb(web as NodeReadableStream<Uint8Array>) : null);
    }
    const headers = requestHeaders(request.headers);
    return toResponse(await forward(context, label, method, path, headers, body, {}, request.record));
  };
}
