import { Answer, toResponse } from './answer.js';

/** The error body every OpenAI client parses, so a proxy error surfaces like an API error, with its message. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } } satisfies OpenAIErrorBody;
}

type ErrorDetails = {
  type?: string;
  code?: string | null;
  param?: string | null;
  headers?: Record<string, string>;
};

/** A JSON error answer in OpenAI's shape, marked as produced by the proxy (not the upstream). */
export function errorAnswer(
  status: number,
  message: string,
  { type = 'invalid_request_error', code = null, param = null, headers = {} }: ErrorDetails = {},
): Answer {
  return new Answer(
    JSON.stringify(errorBody(message, type, code, param)),
    { 'content-type': 'application/json', 'x-llmemo-error': code ?? type, ...headers },
    status,
  );
}

/** `errorAnswer` as a `Response`, for the hono routes. */
export function errorResponse(status: number, message: string, details: ErrorDetails = {}): Response {
  return toResponse(errorAnswer(status, message, details));
}

/** A request header or body the proxy itself cannot accept (before anything goes upstream). */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly param: string | null = null,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toAnswer(): Answer {
    return errorAnswer(this.status, this.message, { code: this.code, param: this.param, headers: this.headers });
  }

  toResponse(): Response {
    return toResponse(this.toAnswer());
  }
}

/** A short, prompt-free description of a thrown value (undici errors carry their code). */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
