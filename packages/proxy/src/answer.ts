import type { ServerResponse } from 'node:http';
import { ChunkBody } from './chunk-body.js';
import { type BreakReport, EventTail, reportBreaks } from './sse.js';

/**
 * What a route answers: status, headers and body, before any Web `Response` exists. The fetch path turns it into
 * the `Response` it always built (`toResponse`); the Node path writes it straight to the `ServerResponse`
 * (`writeAnswer`), the way `@hono/node-server` writes that same `Response`, without building one.
 */
export class Answer {
  constructor(
    readonly body: string | Uint8Array | ReadableStream<Uint8Array> | ChunkBody | null,
    /** A record may hold repeated lines as arrays (forwarded upstream headers); the Node path writes it as is. */
    readonly headers: HeaderRecord | Headers,
    readonly status = 200,
    /**
     * A streamed body that may break off, and how to report it (see `reportBreaks`). The fetch path wraps the body
     * in `reportBreaks`; the Node path's writer reports the break itself, one stream fewer per chunk.
     */
    readonly breaks?: BreakReport,
  ) {}
}

export type HeaderRecord = Record<string, string | string[]>;

/** A route's answer, or a `Response` from the hono side (admin, dashboard, `c.res`). */
export type Reply = Answer | Response;

/**
 * The header records the answers' Responses were built with (never changed afterwards). Reading a header through
 * `Response.headers` turns the Node adapter's plain record into undici `Headers`, which the adapter then turns
 * back into a record to write: the metrics and the access log read the record instead.
 */
const builtWith = new WeakMap<Response, Readonly<HeaderRecord>>();

/** `Headers` from a record, a repeated line appended once per value (as `Headers` built from the lines would be). */
export function headersOf(record: Readonly<HeaderRecord>): Headers {
  const out = new Headers();
  for (const name in record) {
    const value = record[name]!;
    if (Array.isArray(value)) for (const item of value) out.append(name, item);
    else out.set(name, value as string);
  }
  return out;
}

export function toResponse(answer: Answer): Response {
  const { status, headers, breaks } = answer;
  const streamed = answer.body instanceof ChunkBody ? answer.body.stream() : answer.body;
  const body =
    breaks && streamed instanceof ReadableStream
      ? reportBreaks(streamed, breaks.describe, breaks.cut, breaks.errorEvent)
      : streamed;
  const init = headers instanceof Headers || !Object.values(headers).some(Array.isArray) ? headers : headersOf(headers);
  const response = new Response(body as BodyInit | null, { status, headers: init as HeadersInit });
  if (!(headers instanceof Headers)) builtWith.set(response, headers);
  return response;
}

/** A reply as the hono side returns it. */
export function asResponse(reply: Reply): Response {
  return reply instanceof Answer ? toResponse(reply) : reply;
}

/** A header of a reply, from the record it was built with when there is one. */
export function headerOf(reply: Reply, name: string): string | null {
  if (reply instanceof Answer) {
    const { headers } = reply;
    return headers instanceof Headers ? headers.get(name) : recordHeader(headers, name);
  }
  const record = builtWith.get(reply);
  return record === undefined ? reply.headers.get(name) : recordHeader(record, name);
}

/** A record's header as `Headers.get` reads it: repeated values joined. */
function recordHeader(record: Readonly<HeaderRecord>, name: string): string | null {
  const value = record[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : (value as string);
}

/** The adapter's header record from `Headers`: set-cookie as a list, and a content type when there is none. */
function outgoingHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const cookies: string[] = [];
  headers.forEach((value, name) => {
    if (name === 'set-cookie') cookies.push(value);
    else out[name] = value;
  });
  if (cookies.length > 0) out['set-cookie'] = cookies;
  out['content-type'] ??= 'text/plain; charset=UTF-8';
  return out;
}

function hasContentLength(headers: Record<string, unknown>): boolean {
  for (const name in headers) if (name.length === 14 && name.toLowerCase() === 'content-length') return true;
  return false;
}

/**
 * Writes an answer as `@hono/node-server` writes the `Response` `toResponse` builds (same status, header lines,
 * framing): a record is written as is plus Content-Length, `Headers` gain a default content type, a body-less
 * answer is written through `Headers`. A stream is piped with backpressure and cancelled when the client leaves.
 */
export function writeAnswer(answer: Answer, res: ServerResponse): Promise<void> | undefined {
  const { body, status } = answer;
  if (body === null) {
    const { headers } = answer;
    res.writeHead(status, outgoingHeaders(headers instanceof Headers ? headers : headersOf(headers)));
    res.end();
    return undefined;
  }
  let headers: Record<string, string | number | string[]>;
  let sized: boolean;
  if (answer.headers instanceof Headers) {
    sized = answer.headers.has('content-length');
    headers = outgoingHeaders(answer.headers);
  } else {
    headers = answer.headers;
    sized = hasContentLength(headers);
  }
  if (typeof body === 'string') {
    if (!sized) headers['Content-Length'] = Buffer.byteLength(body);
    res.writeHead(status, headers);
    res.end(body);
    return undefined;
  }
  if (body instanceof Uint8Array) {
    if (!sized) headers['Content-Length'] = body.byteLength;
    res.writeHead(status, headers);
    res.end(body);
    return undefined;
  }
  res.writeHead(status, headers);
  if (body instanceof ChunkBody) return pipeChunks(body, res, answer.breaks);
  if (res.writable) res.flushHeaders();
  return pipeStream(body, res, answer.breaks);
}

function noop(): void {}

/**
 * How long the headers of a streamed miss wait for the first chunk when none has arrived yet: an upstream that
 * sends its first token right after its headers gets both to the client in one write (one packet, one read by the
 * client) instead of two; one that takes longer gets its headers forwarded after this, long before any LLM's
 * first token.
 */
const HEADERS_WAIT_MS = 1;

/**
 * A flight's chunks onto the socket as the upstream's socket brings them: no Web stream and no promise per chunk.
 * Writes are not held back for a slow client: the flight keeps every chunk for its recording anyway, so the
 * socket's buffer holds nothing the flight does not. Chunks already seen go out with the headers; with none yet,
 * the headers wait for the first chunk up to `HEADERS_WAIT_MS`. The client leaving cancels this copy (and the upstream, once no caller is left).
 */
function pipeChunks(body: ChunkBody, res: ServerResponse, breaks: BreakReport | undefined): Promise<void> | undefined {
  if (res.destroyed) {
    body.listen({ chunk: noop, end: noop, error: noop })();
    return undefined;
  }
  const tail = breaks && new EventTail();
  return new Promise<void>((resolve) => {
    let settled = false;
    let written = false;
    let cancel = noop;
    const settle = () => {
      if (settled) return false;
      settled = true;
      res.off('close', left);
      res.off('error', left);
      resolve();
      return true;
    };
    const left = () => {
      if (settle()) cancel();
    };
    res.on('close', left);
    res.on('error', left);
    cancel = body.listen({
      chunk: (value) => {
        if (settled) return;
        tail?.push(value);
        written = true;
        try {
          res.write(value);
        } catch (error) {
          // A failed write, not a break of the body.
          settle();
          res.destroy(error as Error);
        }
      },
      end: () => {
        if (settle()) res.end();
      },
      error: (error) => {
        if (!settle()) return;
        const outcome = tail ? tail.broke(error, breaks!) : 'error';
        if (outcome === 'error') res.destroy(error instanceof Error ? error : undefined);
        // Reported as reportBreaks would: the last event and a clean end, or the connection already cut.
        else if (outcome !== 'cut') res.end(outcome);
      },
    });
    // Settled while listen() ran (a failed write): the ticket is cancelled now that its cancel exists.
    if (settled) cancel();
    else if (!written) {
      setTimeout(() => {
        if (!written && res.writable) res.flushHeaders();
      }, HEADERS_WAIT_MS).unref();
    }
  });
}

/** The body onto the socket, one read per drained write; the client leaving cancels the stream (and its source). */
function pipeStream(
  body: ReadableStream<Uint8Array>,
  res: ServerResponse,
  breaks: BreakReport | undefined,
): Promise<void> | undefined {
  if (res.destroyed) return undefined;
  const reader = body.getReader();
  const tail = breaks && new EventTail();
  let reported = false;
  const cancel = (error?: unknown) => {
    reader.cancel(error).catch(() => {});
  };
  res.on('close', cancel);
  res.on('error', cancel);
  const broke = (error: unknown) => {
    const outcome = tail ? tail.broke(error, breaks!) : 'error';
    if (outcome === 'error') {
      if (error) res.destroy(error as Error);
      return;
    }
    // Reported as reportBreaks would: the last event and a clean end, or the connection already cut.
    reported = true;
    if (outcome !== 'cut') res.end(outcome);
  };
  const flow = ({ done, value }: ReadableStreamReadResult<Uint8Array>): Promise<void> | undefined => {
    try {
      if (done) {
        res.end();
        return undefined;
      }
      tail?.push(value);
      if (!res.write(value)) res.once('drain', () => reader.read().then(flow, broke));
      else return reader.read().then(flow, broke);
    } catch (error) {
      // A failed write, not a break of the body: as before.
      res.destroy(error as Error);
    }
    return undefined;
  };
  reader.read().then(flow, broke);
  return reader.closed
    .finally(() => {
      res.off('close', cancel);
      res.off('error', cancel);
    })
    .catch((error: unknown) => {
      if (!reported) writeFailed(error, res);
    });
}

/**
 * What the adapter does when writing an answer failed, or its body stream errored (it also printed the error to
 * the console; this does not).
 */
export function writeFailed(error: unknown, res: ServerResponse): void {
  const failed = error instanceof Error ? error : new Error('unknown error', { cause: error });
  if ((failed as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
  if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
  res.end(`Error: ${failed.message}`);
  res.destroy(failed);
}
