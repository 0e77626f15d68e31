/**
 * Whether a provider failure is the kind a stale answer should cover: the provider is down, overloaded or slow
 * (HTTP 5xx, 429, 408, a timeout, a dropped connection). A rejected request (400, 401, 403, 404, 422) is the
 * caller's problem and must surface; so must the caller's own cancellation (an AbortError).
 *
 * Reads the shapes the frameworks use: the AI SDK's APICallError (`statusCode`, `isRetryable`), the openai client
 * (`status`), fetch/undici network errors (`cause.code`), and LangChain's wrapped errors (`cause`).
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function status(error: Record<string, unknown>): number | undefined {
  for (const name of ['statusCode', 'status']) {
    const value = error[name];
    if (typeof value === 'number') return value;
  }
  const response = error.response as Record<string, unknown> | undefined;
  return typeof response?.status === 'number' ? response.status : undefined;
}

export function isTransientError(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 4) return false;
  const record = error as Record<string, unknown>;
  if (record.name === 'AbortError') return false;
  const code = status(record);
  if (code !== undefined && code >= 400) return code >= 500 || code === 429 || code === 408;
  // No status, or a 2xx whose body broke off mid-stream (the AI SDK reports a cut connection as statusCode 200,
  // isRetryable): look at what the error says about itself and at its cause.
  if (record.isRetryable === true) return true;
  if (record.name === 'TimeoutError') return true;
  if (typeof record.code === 'string' && NETWORK_CODES.has(record.code)) return true;
  // fetch() rejects with a TypeError('fetch failed') whose cause carries the network code.
  if (record.cause !== undefined) return isTransientError(record.cause, depth + 1);
  return record.name === 'TypeError' && record.message === 'fetch failed';
}
