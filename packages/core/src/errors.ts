/** Every failure llmemo reports carries one of these codes, so callers can branch without parsing messages. */
export type LlmemoErrorCode =
  | 'INVALID_OPTIONS'
  | 'CACHE_MISS'
  | 'UNSERIALIZABLE_REQUEST'
  | 'UNSERIALIZABLE_VALUE'
  | 'ENTRY_TOO_LARGE'
  | 'STORE_UNAVAILABLE'
  | 'STORE_TIMEOUT'
  | 'CORRUPT_ENTRY'
  | 'DECRYPT_FAILED'
  | 'PROVIDER_FAILED'
  | 'UNSUPPORTED'
  | 'CLOSED';

export class LlmemoError extends Error {
  override readonly name = 'LlmemoError';
  readonly code: LlmemoErrorCode;

  constructor(code: LlmemoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isLlmemoError(error: unknown, code?: LlmemoErrorCode): error is LlmemoError {
  return error instanceof LlmemoError && (code === undefined || error.code === code);
}

/** A short, prompt-free description of an unknown thrown value, for event payloads and log lines. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** `error` as is when it is already an LlmemoError, else wrapped with `code` and `message` (the cause kept). */
export function toLlmemoError(error: unknown, code: LlmemoErrorCode, message: string): LlmemoError {
  if (error instanceof LlmemoError) return error;
  return new LlmemoError(code, `${message}: ${describeError(error)}`, { cause: error });
}
