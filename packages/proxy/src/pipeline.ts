import type { Context, MiddlewareHandler } from 'hono';
import { Answer, asResponse, headerOf, type Reply } from './answer.js';
import { BodyReservation } from './body.js';
import type { ProxyContext } from './context.js';
import { BadRequest, errorAnswer } from './errors.js';
import type { EndpointLabel, ProxyMetrics } from './metrics.js';
import type { ResolvedProxyOptions } from './options.js';
import { type ProxyRequest, requestOf } from './request.js';

/**
 * The request chain as plain functions, shared by both paths: hono runs them as middleware on the fetch path
 * (`honoStep`, `honoRoute`), and the Node listener runs the same functions in the same order (`runChain`).
 */

export type Next = () => Promise<Reply>;
/** One step around the rest of the chain: it may answer itself, or call `next` and look at the answer. */
export type Step = (request: ProxyRequest, next: Next) => Promise<Reply>;
export type Handler = (context: ProxyContext, request: ProxyRequest) => Promise<Answer>;
export type OnError = (error: unknown, request: ProxyRequest) => Answer;

/** Counts and times each answer by its X-Cache result (streams: until the response starts). */
export function measured(metrics: ProxyMetrics, endpoint: EndpointLabel): Step {
  return async (_request, next) => {
    const started = performance.now();
    const reply = await next();
    metrics.response(endpoint, headerOf(reply, 'x-cache') ?? 'error', (performance.now() - started) / 1000);
    return reply;
  };
}

/** A cached endpoint: the body bytes it holds count against the in-flight budget until its handler is done. */
export function budgeted(context: ProxyContext, handler: Handler): (request: ProxyRequest) => Promise<Answer> {
  return async (request) => {
    const reservation = new BodyReservation(context.budget);
    request.reservation = reservation;
    try {
      return await handler(context, request);
    } finally {
      reservation.release();
    }
  };
}

/** Client errors answer as such; anything else is the proxy's own failure, logged and answered 500. */
export function proxyError(resolved: ResolvedProxyOptions): OnError {
  return (error, request) => {
    if (error instanceof BadRequest) return error.toAnswer();
    resolved.logger?.error?.(
      `llmemo-proxy: ${request.method} ${request.pathname} failed: ${(error as Error).message}`,
      { code: 'proxy_error' },
    );
    return errorAnswer(
      500,
      `llmemo-proxy failed on this request (a failure of the proxy, not of the upstream): ${(error as Error).message}`,
      { type: 'server_error', code: 'proxy_error' },
    );
  };
}

/**
 * Runs the steps, then the route, as hono's compose does: an error is answered by `onError` at the layer it was
 * thrown in, and the steps outside it see that answer.
 */
export function runChain(
  steps: readonly Step[],
  route: (request: ProxyRequest) => Promise<Reply>,
  onError: OnError,
  request: ProxyRequest,
): Promise<Reply> {
  const dispatch = async (i: number): Promise<Reply> => {
    try {
      return i < steps.length ? await steps[i]!(request, () => dispatch(i + 1)) : await route(request);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      return onError(error, request);
    }
  };
  return dispatch(0);
}

/** A step as hono middleware: the same function, over the request the context stands for. */
export function honoStep(step: Step): MiddlewareHandler {
  return async (c, next) => {
    const reply = await step(requestOf(c), async () => {
      await next();
      return c.res;
    });
    return asResponse(reply);
  };
}

/** A cached endpoint's route for hono (its errors go to the app's error handler, which is `proxyError`). */
export function honoRoute(context: ProxyContext, handler: Handler) {
  const route = budgeted(context, handler);
  return async (c: Context) => asResponse(await route(requestOf(c)));
}

/** A reply from the Node chain as an answer to write (the chain only ever answers with an `Answer`). */
export function answerOf(reply: Reply): Answer {
  return reply instanceof Answer ? reply : new Answer(reply.body, reply.headers, reply.status);
}
