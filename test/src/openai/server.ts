import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Controls, matches } from './controls.js';
import { type ParsedBody, parseJsonBody, readBytes, sendError } from './http.js';
import { DEFAULT_MODELS } from './models.js';
import { parseMultipart } from './multipart.js';
import { type RouteContext, route } from './routes.js';
import type {
  OpenAITestServer,
  OpenAITestServerOptions,
  RecordedRequest,
  RequestMatcher,
  Responder,
  ScriptedReply,
} from './types.js';

/**
 * A local OpenAI-compatible HTTP server for tests: chat completions, Responses, embeddings, images and models, with
 * deterministic default replies, a request log, scripted replies and injectable faults (errors, latency, dropped
 * streams, hangs, outages). The real client libraries talk to it over HTTP exactly as they would to api.openai.com.
 */
export async function createOpenAITestServer(options: OpenAITestServerOptions = {}): Promise<OpenAITestServer> {
  const host = options.host ?? '127.0.0.1';
  const controls = new Controls();
  const log: RecordedRequest[] = [];
  const perPath = new Map<string, number>();
  const sockets = new Set<Socket>();
  let port = options.port ?? 0;
  let listening = false;
  let closed = false;

  const context: RouteContext = {
    controls,
    models: options.models ?? DEFAULT_MODELS,
    embeddingDimensions: options.embeddingDimensions ?? 8,
    images: new Map(),
    origin: () => `http://${host}:${port}`,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bytes = await readBytes(req);
    const contentType = req.headers['content-type'] ?? '';
    // Multipart bodies (images/edits) are recorded as their fields, files as name, type, size and SHA-256.
    const form = /^multipart\/form-data/i.test(contentType) ? await parseMultipart(bytes, contentType) : undefined;
    const parsed: ParsedBody = form ? { ok: true, value: form } : parseJsonBody(bytes.toString('utf8'));
    const target = new URL(req.url ?? '/', 'http://localhost');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: target.pathname,
      query: target.search,
      headers: req.headers,
      body: parsed.ok ? parsed.value : parsed.raw,
      at: Date.now(),
    };
    // Logged before any reply is sent, so when a client holds its response the count already includes it.
    log.push(recorded);
    perPath.set(recorded.path, (perPath.get(recorded.path) ?? 0) + 1);

    // Left open on purpose; the socket is destroyed by down(), close() or the client giving up.
    if (controls.takeHang(recorded)) return;

    const failure = controls.takeFailure(recorded);
    if (failure) {
      const status = failure.status ?? 500;
      sendError(res, status, { message: failure.message, type: failure.type, code: failure.code }, failure.headers);
      return;
    }
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendError(res, 401, { message: 'Incorrect API key provided.' });
      return;
    }
    if (!parsed.ok) {
      sendError(res, 400, {
        message:
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
      });
      return;
    }
    const base = options.basePaths?.find((prefix) => recorded.path.startsWith(`${prefix}/`));
    await route(
      context,
      base ? { ...recorded, path: recorded.path.slice(base.length), basePath: base } : recorded,
      res,
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A throwing responder is a bug in the test; answer 500 with its message so the failure points at it.
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendError(res, 500, { message: `openai test server: ${message}` });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // A deep backlog so a burst of hundreds of new connections is queued rather than refused.
      server.listen({ port, host, backlog: 1024 }, () => {
        server.off('error', reject);
        const address = server.address();
        if (typeof address === 'object' && address) port = address.port;
        listening = true;
        resolve();
      });
    });
  }

  async function stopListening(): Promise<void> {
    if (!listening) return;
    listening = false;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // close() alone leaves keep-alive sockets open, and pooled clients would go on reaching a "down" server.
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await stopped;
  }

  await listen();
  const url = `http://${host}:${port}/v1`;

  return {
    url,
    baseURL: url,
    origin: context.origin(),
    port,
    get requests() {
      return [...log];
    },
    get counts() {
      return Object.fromEntries(perPath);
    },
    count(pathOrPredicate?: RequestMatcher) {
      if (pathOrPredicate === undefined) return log.length;
      if (typeof pathOrPredicate === 'string') return perPath.get(pathOrPredicate) ?? 0;
      return log.filter((request) => matches(pathOrPredicate, request)).length;
    },
    requestsTo(path: string) {
      return log.filter((request) => request.path === path);
    },
    script(reply: ScriptedReply | Responder) {
      controls.script(reply);
    },
    enqueue(...replies: ScriptedReply[]) {
      controls.enqueue(replies);
    },
    setLatency(latency) {
      controls.setLatency(latency);
    },
    failNext(n = 1, failOptions = {}) {
      controls.failNext(n, failOptions);
    },
    cutNextStream(cutOptions = {}) {
      controls.cutNextStream(cutOptions.afterChunks ?? 2);
    },
    hangNext(n = 1, hangOptions = {}) {
      controls.hangNext(n, hangOptions.match);
    },
    down: stopListening,
    async up() {
      if (closed) throw new Error('openai test server: up() after close()');
      if (!listening) await listen();
    },
    get isUp() {
      return listening;
    },
    reset() {
      log.length = 0;
      perPath.clear();
      context.images.clear();
      controls.reset();
    },
    async close() {
      closed = true;
      await stopListening();
    },
  };
}
