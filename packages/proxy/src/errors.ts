/** The error body every OpenAI client parses, so a proxy error surfaces like an API error, with its message. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } } satisfies OpenAIErrorBody;
}

/** A JSON error response in OpenAI's shape, marked as produced by the proxy (not the upstream). */
export function errorResponse(
  status: number,
  message: string,
  { type = 'invalid_request_error', code = null, param = null, headers = {} as Record<string, string> } = {} as {
    type?: string;
    code?: string | null;
    param?: string | null;
    headers?: Record<string, string>;
  },
): Response {
  return new Response(JSON.stringify(errorBody(message, type, code, param)), {
    status,
    headers: { 'content-type': 'application/json', 'x-llmemo-error': code ?? type, ...headers },
  });
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

  toResponse(): Response {
    return errorResponse(this.status, this.message, { code: this.code, param: this.param, headers: this.headers });
  }
}

/** A short, prompt-free description of a thrown value (undici errors carry their code). */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
