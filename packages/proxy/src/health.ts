import type { Hono } from 'hono';
import type { ProxyContext } from './context.js';

const PROBE_KEY = 'llmemo:proxy:readyz';
const PROBE_TIMEOUT_MS = 1000;

/** Asks the store one read, bounded: resolves what went wrong, or undefined when it answered. */
async function probeStore(context: ProxyContext): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      context.cache.store.get(PROBE_KEY).then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /healthz: the process answers (liveness). GET /readyz: the store answers, its circuit breaker is closed and
 * the namespace secret is loaded, so requests can be cached (readiness; 503 otherwise, with what is wrong). Both
 * are the proxy's own and never forwarded.
 */
export function healthRoutes(app: Hono, context: ProxyContext): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const problems: string[] = [];
    const breaker = context.cache.stats().breaker?.state;
    if (breaker === 'open') problems.push('the store circuit breaker is open (the store failed repeatedly)');
    const store = await probeStore(context);
    if (store !== undefined) problems.push(`the ${context.cache.store.type} store does not answer: ${store}`);
    if (!(await context.secret.get())) problems.push('the namespace secret is not loaded yet');
    const body = {
      status: problems.length === 0 ? 'ready' : 'unavailable',
      store: context.cache.store.type,
      breaker: breaker ?? 'off',
      problems,
    };
    return c.json(body, problems.length === 0 ? 200 : 503);
  });
}
