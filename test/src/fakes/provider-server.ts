import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { matches } from '../openai/controls.js';
import { parseJsonBody, readBody, startEventStream, wait } from '../openai/http.js';
import { formatEvent, type SseEvent } from '../openai/sse.js';
import type { RecordedRequest, RequestMatcher } from '../openai/types.js';

/**
 * The harness the Anthropic and Gemini fakes share: a request log, scripted replies (a queue, then a persistent
 * script), one-shot failures and stream cuts. Each fake supplies its routes; the wire formats live with them.
 */
export interface ProviderTestServer<Reply, View> {
  /** e.g. http://127.0.0.1:PORT, without any API path. */
  readonly origin: string;
  readonly port: number;
  /** Every request received since start or the last reset, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Number of requests: all, those to one exact path, or those matching a predicate. */
  count(matcher?: RequestMatcher): number;
  /** Sets the persistent reply (or responder) for generation requests. */
  script(reply: Reply | ((request: View) => Reply | undefined)): void;
  /** Queues one-shot replies, consumed in order before the script. */
  enqueue(...replies: Reply[]): void;
  /** The next n requests fail with this status (default 500) and the provider's error body. */
  failNext(n?: number, options?: { status?: number; message?: string }): void;
  /** The next streamed response is cut (socket destroyed) after `afterChunks` events. */
  cutNextStream(options?: { afterChunks?: number }): void;
  /** Clears the log, script, queue and pending faults. */
  reset(): void;
  close(): Promise<void>;
}

export interface Failure {
  status: number;
  message: string;
}

/** What a fake's route gets for one request. */
export interface RouteTools<Reply, View> {
  /** The scripted reply for this request (queue first, then the script), or undefined for the default. */
  replyFor(view: View): Promise<Reply | undefined>;
  /** Sends an SSE stream, cut when a cut is pending. */
  stream(res: ServerResponse, events: readonly SseEvent[], headers?: Record<string, string>): Promise<void>;
}

export interface ProviderServerOptions<Reply, View> {
  /** Answers one request; returns false for a path it does not serve (a 404 is sent). */
  route(request: RecordedRequest, res: ServerResponse, tools: RouteTools<Reply, View>): Promise<boolean>;
  /** Writes the provider's error response. */
  fail(res: ServerResponse, failure: Failure): void;
}

function write(res: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve, reject) => res.write(text, (error) => (error ? reject(error) : resolve())));
}

export async function createProviderServer<Reply, View>(
  options: ProviderServerOptions<Reply, View>,
): Promise<ProviderTestServer<Reply, View>> {
  const log: RecordedRequest[] = [];
  const queue: Reply[] = [];
  const failures: Failure[] = [];
  const cuts: number[] = [];
  const sockets = new Set<Socket>();
  let responder: ((request: View) => Reply | undefined) | undefined;

  const tools: RouteTools<Reply, View> = {
    async replyFor(view) {
      return queue.shift() ?? responder?.(view);
    },
    async stream(res, events, headers) {
      const cutAfter = cuts.shift();
      startEventStream(res, headers);
      try {
        for (const [index, event] of events.entries()) {
          if (cutAfter !== undefined && index >= cutAfter) {
            res.socket?.destroy();
            return;
          }
          if (!(await wait(0, res))) return;
          await write(res, formatEvent(event));
        }
        res.end();
      } catch {
        res.destroy();
      }
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const parsed = parseJsonBody(raw);
    const target = new URL(req.url ?? '/', 'http://localhost');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: target.pathname,
      query: target.search,
      headers: req.headers,
      body: parsed.ok ? parsed.value : parsed.raw,
      at: Date.now(),
    };
    log.push(recorded);
    const failure = failures.shift();
    if (failure) return options.fail(res, failure);
    if (!parsed.ok) return options.fail(res, { status: 400, message: 'The request body is not valid JSON.' });
    if (!(await options.route(recorded, res, tools))) {
      options.fail(res, { status: 404, message: `Not found: ${recorded.method} ${recorded.path}` });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) options.fail(res, { status: 500, message: `test server: ${message}` });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return [...log];
    },
    count(matcher?: RequestMatcher) {
      return matcher === undefined ? log.length : log.filter((request) => matches(matcher, request)).length;
    },
    script(reply) {
      responder = typeof reply === 'function' ? (reply as (request: View) => Reply | undefined) : () => reply;
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    failNext(n = 1, failOptions = {}) {
      for (let i = 0; i < n; i++) {
        failures.push({ status: failOptions.status ?? 500, message: failOptions.message ?? 'Internal server error' });
      }
    },
    cutNextStream(cutOptions = {}) {
      cuts.push(cutOptions.afterChunks ?? 2);
    },
    reset() {
      log.length = 0;
      queue.length = 0;
      failures.length = 0;
      cuts.length = 0;
      responder = undefined;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Sends a JSON body with the given status. */
export function sendBody(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
