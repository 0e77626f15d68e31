import { createDashboard, type SnapshotCache } from '@llmemo/dashboard';
import type { Hono } from 'hono';
import type { ProxyContext } from './context.js';
import { errorResponse } from './errors.js';
import { bearerMatches, secretDigest } from './tenancy.js';

/** Where the proxy serves the dashboard; never forwarded upstream. */
export const DASHBOARD_PATH = '/dashboard';

/**
 * The admin token check for the dashboard's API. The token arrives only as a bearer header, which the page's own
 * fetches send: never in a URL or a cookie, so it cannot leak through logs, history or a cross-site request.
 */
function bearer(token: string): (request: Request) => Response | undefined {
  const expected = secretDigest(token);
  return (request) => {
    if (bearerMatches(request.headers.get('authorization'), expected)) return undefined;
    return errorResponse(401, 'The dashboard needs `Authorization: Bearer <LLMEMO_ADMIN_TOKEN>`.', {
      type: 'authentication_error',
      code: 'invalid_admin_token',
      headers: { 'www-authenticate': 'Bearer realm="llmemo-proxy admin"' },
    });
  };
}

/**
 * GET /dashboard: the cache dashboard (@llmemo/dashboard) for the store this proxy uses, every process sharing it
 * included. The page and its files hold no data; its API answers only with the admin token, and is off (404)
 * without one, like /admin.
 */
export function dashboardRoutes(app: Hono, context: ProxyContext, snapshots: SnapshotCache): void {
  const token = context.options.adminToken;
  if (token === undefined) {
    const off = () =>
      errorResponse(404, 'The dashboard is off. Start the proxy with LLMEMO_ADMIN_TOKEN set to enable it.', {
        code: 'admin_disabled',
      });
    app.all(DASHBOARD_PATH, off);
    app.all(`${DASHBOARD_PATH}/*`, off);
    return;
  }
  const dashboard = createDashboard({
    cache: context.cache,
    basePath: DASHBOARD_PATH,
    authorize: bearer(token),
    snapshots,
    live: true,
  });
  const handle = (c: { req: { raw: Request } }) => dashboard.fetch(c.req.raw);
  app.get(DASHBOARD_PATH, handle);
  app.get(`${DASHBOARD_PATH}/*`, handle);
  app.all(`${DASHBOARD_PATH}/*`, () =>
    errorResponse(405, 'The dashboard only answers GET.', { code: 'method_not_allowed' }),
  );
}
