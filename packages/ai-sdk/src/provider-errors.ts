/** The error a fetch (or the SDK's own timeout) rejects with when its signal fires. */
export function isAbortError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError' || name === 'ResponseAborted';
}
