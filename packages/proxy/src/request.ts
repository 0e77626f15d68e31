import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { RequestRecord } from './access-log.js';
import type { BodyReservation } from './body.js';

/** The request headers as the routes read them: Web `Headers`, or the Node request's lines read the same way. */
export interface HeaderSource {
  /** Lower-case name; repeated lines joined as `Headers.get` joins them. */
  get(name: string): string | null;
  /** In `Headers` order: names sorted, one call per set-cookie line. */
  forEach(callback: (value: string, name: string) => void): void;
}

/** One request as every route and step of the chain sees it, on the fetch path and the Node path alike. */
export interface ProxyRequest {
  readonly method: string;
  /** Path and query as the client sent them (forwarded as is). */
  readonly path: string;
  /**
   * The path without the query, for logs and refusals. On the fetch path it is hono's (percent-decoded); keys and
   * the upstream use `path`, as sent.
   */
  readonly pathname: string;
  readonly headers: HeaderSource;
  /** On Node, the request itself: the body is read straight from it. */
  readonly incoming: IncomingMessage | undefined;
  readonly outgoing: ServerResponse | undefined;
  /** The Web body, read only where there is no unread Node request. */
  webBody(): ReadableStream<Uint8Array> | null;
  /** What the handlers tell the access log (set by the access log step). */
  record?: RequestRecord;
  /** This request's share of the body budget (set around a cached endpoint's handler). */
  reservation?: BodyReservation;
}

/** Leading or trailing HTTP whitespace, which `Headers` strips from a value. */
const EDGE_SPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function normalized(value: string): string {
  if (value.length === 0) return value;
  return isSpace(value.charCodeAt(0)) || isSpace(value.charCodeAt(value.length - 1))
    ? value.replace(EDGE_SPACE, '')
    : value;
}

/**
 * A Node request's header lines read exactly as the adapter's `new Headers(rawHeaders)` reads them (names lower
 * case, values trimmed, repeated lines joined with `, `, cookies with `; `, HTTP/2 pseudo-headers left out),
 * without building undici `Headers`. Node's own `incoming.headers` would not do: it drops a second Authorization.
 */
export class NodeHeaders implements HeaderSource {
  private lines: Map<string, string> | undefined;
  private cookies: string[] = [];

  constructor(private readonly raw: readonly string[]) {}

  private read(): Map<string, string> {
    if (this.lines) return this.lines;
    const lines = new Map<string, string>();
    const { raw } = this;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) === 58) continue;
      const lower = name.toLowerCase();
      const value = normalized(raw[i + 1]!);
      if (lower === 'set-cookie') this.cookies.push(value);
      const before = lines.get(lower);
      lines.set(lower, before === undefined ? value : `${before}${lower === 'cookie' ? '; ' : ', '}${value}`);
    }
    this.lines = lines;
    return lines;
  }

  get(name: string): string | null {
    return this.read().get(name.toLowerCase()) ?? null;
  }

  forEach(callback: (value: string, name: string) => void): void {
    const lines = this.read();
    const names = [...lines.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      if (name === 'set-cookie') for (const cookie of this.cookies) callback(cookie, name);
      else callback(lines.get(name)!, name);
    }
  }
}

/** The body length the request declares (Content-Length); NaN when it declares none. */
export function declaredLength(request: ProxyRequest): number {
  const { incoming } = request;
  return Number(incoming ? incoming.headers['content-length'] : (request.headers.get('content-length') ?? undefined));
}

/** A request on the Node path: `url` is the path and query as sent (the caller checked it is plain). */
export function nodeRequest(incoming: IncomingMessage, outgoing: ServerResponse): ProxyRequest {
  const path = incoming.url ?? '/';
  const mark = path.indexOf('?');
  return {
    method: incoming.method ?? 'GET',
    path,
    pathname: mark < 0 ? path : path.slice(0, mark),
    headers: new NodeHeaders(incoming.rawHeaders),
    incoming,
    outgoing,
    webBody() {
      // A body an Express parser already took: it left the bytes on the request, where the adapter reads them.
      const rawBody = (incoming as { rawBody?: unknown }).rawBody;
      if (!(rawBody instanceof Buffer)) return null;
      return new ReadableStream({
        start(controller) {
          controller.enqueue(rawBody);
          controller.close();
        },
      });
    },
  };
}

const REQUEST = 'llmemo.request';

/** The path and query the client used, from the request's URL. */
function pathAndQuery(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  return start < 0 ? '/' : url.slice(start);
}

/** The request a hono context stands for: built once, shared by the middleware and the route. */
export function requestOf(c: Context): ProxyRequest {
  const vars = c as unknown as { get(name: string): unknown; set(name: string, value: unknown): void };
  const known = vars.get(REQUEST) as ProxyRequest | undefined;
  if (known) return known;
  const env = (c.env ?? {}) as { incoming?: IncomingMessage; outgoing?: ServerResponse };
  const request: ProxyRequest = {
    method: c.req.method,
    path: pathAndQuery(c.req.url),
    pathname: c.req.path,
    get headers() {
      return c.req.raw.headers;
    },
    incoming: env.incoming,
    outgoing: env.outgoing,
    // (Touching c.req.raw.body on Node would start the adapter's own reading of the socket: only asked for
    // where there is no Node request, or it was read already.)
    webBody: () => c.req.raw.body,
  };
  vars.set(REQUEST, request);
  return request;
}
