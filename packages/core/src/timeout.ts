import { LlmemoError } from './errors.js';

/**
 * Races a store operation against a timer. The operation itself keeps running (Keyv has no cancellation), but the
 * caller stops waiting; its late rejection is swallowed so it cannot become an unhandled rejection.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LlmemoError('STORE_TIMEOUT', describe())), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
