import type { IncomingHttpHeaders } from 'node:http';
import type { PushSource } from '@llmemo/core';
import { Agent, type Dispatcher } from 'undici';
import type { RequestRecord } from './access-log.js';
import { Answer, headersOf } from './answer.js';
import type { HeaderSource } from './request.js';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), and the ones this hop answers itself:
 * never forwarded in either direction. `expect: 100-continue` was answered by this server already (curl sends it
 * with every body over 1 MiB; the upstream client refuses it). `proxy-authorization` is meant for this proxy,
 * `proxy-authenticate` for the client's. `host` and the framing headers are set anew for the next hop.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
]);

/** What a streamed body's reader hears besides the chunks: each chunk as it passes, and the clean end. */
export interface StreamHooks {
  onChunk?: (chunk: Uint8Array) => void;
  onEnd?: () => void;
}

/** The headers a `Connection` header names are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionNamed(value: string | string[] | undefined | null): Set<string> | undefined {
  if (!value) return undefined;
  const named = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') named.add(name);
  }
  return named.size > 0 ? named : undefined;
}

/** A complete upstream reply handed back to the client as is: an error, or a reply the proxy does not cache. */
export class UpstreamReply {
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: Uint8Array,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  text(): string {
    return Buffer.from(this.body.buffer, this.body.byteOffset, this.body.byteLength).toString('utf8');
  }

  toAnswer(extra: Record<string, string> = {}): Answer {
    const headers = responseHeaders(this.headers, ['content-length', 'content-encoding']);
    for (const [name, value] of Object.entries(extra)) headers.set(name, value);
    return new Answer(nullBodyStatus(this.status) ? null : this.body, headers, this.status);
  }
}

/** Thrown from a compute to hand an upstream reply back unchanged (and uncached) to every caller waiting on it. */
export class PassThrough extends Error {
  override readonly name = 'PassThrough';
  constructor(readonly reply: UpstreamReply) {
    super(`The upstream answered ${reply.status}; passed through uncached.`);
  }

  /** The upstream's status, where core's stale-if-error looks for it (5xx, 429 and 408 count as transient). */
  get status(): number {
    return this.reply.status;
  }
}

/** The request could not even be sent, for a reason on this side: the client gets a 500 that says so. */
export class ProxyFailure extends Error {
  override readonly name = 'ProxyFailure';
}

/** The upstream could not be reached or stopped answering: the client gets a 502 (or 504 on a timeout). */
export class UpstreamUnreachable extends Error {
  override readonly name = 'UpstreamUnreachable';
  /** An outage, not a bad request: stale-if-error may cover it. */
  readonly isRetryable = true;
  constructor(
    message: string,
    readonly timeout: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function nullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Upstream response headers for the client, minus hop-by-hop ones and any named in `drop` (the one filter both
 * forms go through), as the record Node's `writeHead` takes: names lower case (as undici gives
 * them), repeated lines kept as arrays (set-cookie must not be joined). Building `Headers` only for the Node path to
 * turn them back into a record cost ~130 µs on a cold streamed miss.
 */
export function responseRecord(
  headers: IncomingHttpHeaders,
  drop: readonly string[] = [],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = connectionNamed(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || drop.includes(name) || named?.has(name)) continue;
    out[name] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

/** Upstream response headers for the client, minus hop-by-hop ones and any named in `drop`, as Web `Headers`. */
export function responseHeaders(headers: IncomingHttpHeaders, drop: readonly string[] = []): Headers {
  return headersOf(responseRecord(headers, drop));
}

/**
 * Client request headers for the upstream, minus hop-by-hop ones, our own `x-llmemo-*` and `drop`. Authorization
 * is forwarded (the upstream needs it) and is never stored nor part of a key.
 */
export function requestHeaders(headers: HeaderSource, drop: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const named = connectionNamed(headers.get('connection'));
  headers.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || name.startsWith('x-llmemo-') || drop.includes(name) || named?.has(name)) return;
    out[name] = value;
  });
  return out;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/** undici's refusals of the request as built here: the proxy's failure, not the upstream's. */
const PROXY_SIDE_CODES = new Set([
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/** One upstream: a keep-alive connection pool and the mapping of our paths onto its base URL. */
export class Upstream {
  readonly origin: string;
  private readonly basePath: string;
  private readonly agent: Agent;

  constructor(
    readonly base: URL,
    private readonly timeoutMs: number,
  ) {
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 30_000 });
  }

  /**
   * Our path (with its query) on the upstream. A base that already ends in /v1 (`https://host/openai/v1`) takes
   * the rest of the path, so both `https://api.openai.com` and `https://api.openai.com/v1` work as `--upstream`.
   */
  path(pathWithQuery: string): string {
    if (this.basePath.endsWith('/v1') && (pathWithQuery.startsWith('/v1/') || pathWithQuery.startsWith('/v1?'))) {
      return this.basePath + pathWithQuery.slice(3);
    }
    return this.basePath + pathWithQuery;
  }

  /** Sends a request; resolves at the response headers, with the body still streaming. */
  async request(
    method: string,
    pathWithQuery: string,
    headers: Record<string, string>,
    body?: Dispatcher.DispatchOptions['body'],
    record?: RequestRecord,
  ): Promise<Dispatcher.ResponseData> {
    const started = performance.now();
    try {
      return await this.agent.request({
        origin: this.origin,
        path: this.path(pathWithQuery),
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body ?? null,
      });
    } catch (error) {
      throw this.unreachable(error);
    } finally {
      if (record) record.upstreamMs = (record.upstreamMs ?? 0) + (performance.now() - started);
    }
  }

  /** Sends a request and reads the whole reply. */
  async reply(
    method: string,
    pathWithQuery: string,
    headers: Record<string, string>,
    body?: Dispatcher.DispatchOptions['body'],
    record?: RequestRecord,
  ): Promise<UpstreamReply> {
    const response = await this.request(method, pathWithQuery, headers, body, record);
    return this.read(response, record);
  }

  async read(response: Dispatcher.ResponseData, record?: RequestRecord): Promise<UpstreamReply> {
    const started = performance.now();
    try {
      const bytes = new Uint8Array(await response.body.arrayBuffer());
      return new UpstreamReply(response.statusCode, response.headers, bytes);
    } catch (error) {
      throw this.unreachable(error);
    } finally {
      if (record) record.upstreamMs = (record.upstreamMs ?? 0) + (performance.now() - started);
    }
  }

  /**
   * The body as a push source (core's `PushSource`): chunks go to the sink as the socket's data events bring them;
   * cancelling aborts the upstream request (so the upstream stops generating). `onChunk` sees each chunk as it is
   * passed on, and `onEnd` the clean end.
   *
   * undici emits one data event per HTTP chunk, and a fast upstream's chunks arrive many to a socket read (a burst
   * of tokens, or a whole answer). The chunks of one read go on as one, at the end of that read's synchronous
   * parse (a microtask later): every layer after this one, and the write to the client, then run once per read
   * instead of once per chunk. The bytes are the same, and no chunk waits for a later read.
   */
  static push(response: Dispatcher.ResponseData, { onChunk, onEnd }: StreamHooks = {}): PushSource<Uint8Array> {
    const body = response.body;
    let pending: Buffer[] = [];
    let cancelled = false;
    return {
      start(sink) {
        const flush = () => {
          if (pending.length === 0 || cancelled) return;
          const chunk = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
          pending = [];
          // To the callers first (the Node path writes it to the client now), then to the recording.
          sink.chunk(chunk);
          onChunk?.(chunk);
        };
        body.on('data', (chunk: Buffer) => {
          if (pending.length === 0) queueMicrotask(flush);
          pending.push(chunk);
        });
        body.once('end', () => {
          flush();
          if (cancelled) return;
          onEnd?.();
          sink.end();
        });
        body.once('error', (error) => {
          flush();
          sink.error(error);
        });
      },
      cancel() {
        // A chunk waiting for its microtask is not passed on once nobody wants it.
        cancelled = true;
        pending = [];
        body.destroy();
      },
    };
  }

  /** The body as a Web stream (`push`, for the fetch path's and pass-through's `Response`). */
  static stream(response: Dispatcher.ResponseData, hooks: StreamHooks = {}): ReadableStream<Uint8Array> {
    const source = Upstream.push(response, hooks);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        source.start({
          chunk: (chunk) => controller.enqueue(chunk),
          end: () => controller.close(),
          error: (error) => controller.error(error),
        });
      },
      cancel() {
        source.cancel();
      },
    });
  }

  unreachable(error: unknown): UpstreamUnreachable | ProxyFailure {
    if (error instanceof UpstreamUnreachable || error instanceof ProxyFailure) return error;
    const code = errorCode(error);
    if (code !== undefined && PROXY_SIDE_CODES.has(code)) {
      const message = error instanceof Error ? error.message : String(error);
      return new ProxyFailure(
        `llmemo-proxy could not build the request for the upstream (${code}: ${message}). This is a failure of the proxy, not of the upstream; please report it.`,
        { cause: error },
      );
    }
    const timeout = code !== undefined && TIMEOUT_CODES.has(code);
    const what = code ?? (error instanceof Error ? error.message : String(error));
    const message = timeout
      ? `llmemo-proxy: the upstream ${this.origin} did not answer within ${Math.round(this.timeoutMs / 1000)} s (${what}). Try again, or raise the upstream timeout.`
      : `llmemo-proxy could not reach the upstream ${this.origin} (${what}). Check that it is up and that --upstream points at it.`;
    return new UpstreamUnreachable(message, timeout, { cause: error });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
