/** What the routes read from a request's headers: Web `Headers` has it, and so does `NodeHeaders`. */
export interface HeaderReader {
  get(name: string): string | null;
  forEach(callback: (value: string, name: string) => void): void;
}

const COMMA = ', ';
const SEMICOLON = '; ';

/** HTTP whitespace (tab, LF, CR, space) at either end, which the Fetch standard strips from a header value. */
function normalized(value: string): string {
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  const edge = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
  return value.length > 0 && (edge(first) || edge(last)) ? value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '') : value;
}

/**
 * A Node request's headers read the way the Fetch standard's `Headers` reads them when @hono/node-server builds
 * one from `rawHeaders`: names case-insensitive, repeats joined with `, ` (`cookie` with `; `), `set-cookie` kept
 * apart, values trimmed, iterated sorted by name. Building and querying undici's `Headers` costs 10–25 µs a
 * request (its WebIDL checks on every call); this is a map lookup. Only the proxy's own routes read it.
 */
export class NodeHeaders implements HeaderReader {
  private readonly values = new Map<string, string>();
  private readonly cookies: string[] = [];

  constructor(raw: readonly string[]) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      // HTTP/2 pseudo-headers (`:path`) are not headers.
      if (name.charCodeAt(0) === 58) continue;
      const key = name.toLowerCase();
      const value = normalized(raw[i + 1]!);
      if (key === 'set-cookie') this.cookies.push(value);
      const before = this.values.get(key);
      this.values.set(key, before === undefined ? value : before + (key === 'cookie' ? SEMICOLON : COMMA) + value);
    }
  }

  get(name: string): string | null {
    return this.values.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of this) callback(value, name);
  }

  *[Symbol.iterator](): IterableIterator<[string, string]> {
    const names = [...this.values.keys()].sort();
    for (const name of names) {
      if (name === 'set-cookie') for (const cookie of this.cookies) yield [name, cookie];
      else yield [name, this.values.get(name)!];
    }
  }
}

/** The cached POST endpoints, whose handlers read the headers many times per request. */
const HOT_PATHS = new Set(['/v1/chat/completions', '/v1/embeddings', '/v1/messages']);

/**
 * On Node, a request to one of the cached endpoints gets its headers as `NodeHeaders` instead of the adapter's
 * `Headers`, built from the very `rawHeaders` the adapter would have used. Only for the request the adapter built
 * from `incoming` itself (the listener's own callback): a Request a caller built is left as it is.
 */
export function withNodeHeaders(request: Request, incoming: { rawHeaders: readonly string[] } | undefined): Request {
  if (incoming === undefined || request.method !== 'POST') return request;
  const url = request.url;
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const query = url.indexOf('?', start);
  const path = start < 0 ? '/' : url.slice(start, query < 0 ? undefined : query);
  if (!HOT_PATHS.has(path)) return request;
  Object.defineProperty(request, 'headers', { value: new NodeHeaders(incoming.rawHeaders), configurable: true });
  return request;
}
