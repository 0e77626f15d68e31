import type { Lookup } from '@llmemo/core';

function noop(): void {}

/**
 * Ends a stream's missed lookup (which holds the store it was read from until then) on every path: call the returned
 * function once the stream ended, stored or not. It also ends it when the call's signal fires, since LangChain then
 * stops reading the generator without returning it, so its `finally` may never run (an aborted stream is never
 * stored anyway).
 */
export function missEnder(lookup: Lookup<unknown> | undefined, signal: AbortSignal | undefined): () => void {
  if (lookup === undefined || lookup.hit) return noop;
  const release = () => lookup.release();
  if (signal === undefined) return release;
  signal.addEventListener('abort', release, { once: true });
  return () => {
    signal.removeEventListener('abort', release);
    release();
  };
}
