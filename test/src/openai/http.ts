import type { IncomingMessage, ServerResponse } from 'node:http';
import { nextId } from './text.js';

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBytes(req)).toString('utf8');
}

export function readBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

export type ParsedBody = { ok: true; value: unknown } | { ok: false; raw: string };

export function parseJsonBody(raw: string): ParsedBody {
  if (raw === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, raw };
  }
}

/** Headers every real OpenAI response carries; clients surface x-request-id in errors and logs. */
function baseHeaders(extra?: Readonly<Record<string, string>>): Record<string, string> {
  return { 'x-request-id': nextId('req_'), 'openai-processing-ms': '1', 'openai-version': '2020-10-01', ...extra };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...baseHeaders(headers),
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function startEventStream(res: ServerResponse, headers?: Readonly<Record<string, string>>): void {
  res.writeHead(200, {
    ...baseHeaders(headers),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  // The real API sends headers at once; clients resolve their request promise on headers, before any event.
  res.flushHeaders();
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The error `type`/`code` the real API uses for a status, so clients classify the error the same way. */
function defaultsFor(status: number): { type: string; code: string | null; message: string } {
  if (status === 400) return { type: 'invalid_request_error', code: null, message: 'Bad request.' };
  if (status === 401)
    return { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' };
  if (status === 403) return { type: 'invalid_request_error', code: null, message: 'Forbidden.' };
  if (status === 404) return { type: 'invalid_request_error', code: null, message: 'Not found.' };
  if (status === 429)
    return {
      type: 'requests',
      code: 'rate_limit_exceeded',
      message: 'Rate limit reached for requests. Please try again later.',
    };
  if (status === 503)
    return { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' };
  return { type: 'server_error', code: null, message: 'The server had an error while processing your request.' };
}

export function errorBody(
  status: number,
  overrides: { message?: string; type?: string; code?: string | null; param?: string | null } = {},
): OpenAIErrorBody {
  const defaults = defaultsFor(status);
  return {
    error: {
      message: overrides.message ?? defaults.message,
      type: overrides.type ?? defaults.type,
      param: overrides.param ?? null,
      code: overrides.code === undefined ? defaults.code : overrides.code,
    },
  };
}

export function sendError(
  res: ServerResponse,
  status: number,
  overrides?: Parameters<typeof errorBody>[1],
  headers?: Readonly<Record<string, string>>,
): void {
  sendJson(res, status, errorBody(status, overrides), headers);
}

/** Resolves after ms, or early (false) when the client goes away, so a slow reply does not outlive its socket. */
export function wait(ms: number, res: ServerResponse): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!res.destroyed);
  return new Promise((resolve) => {
    const done = (alive: boolean) => {
      clearTimeout(timer);
      res.off('close', onClose);
      resolve(alive);
    };
    const onClose = () => done(false);
    const timer = setTimeout(() => done(!res.destroyed), ms);
    res.on('close', onClose);
  });
}
