import { randomUUID } from 'node:crypto';
import { type Duration, MAX_TIMER_MS, parseDuration } from './duration.js';
import type { Envelope } from './envelope.js';
import { LlmemoError } from './errors.js';
import { KEY_PREFIX } from './key.js';
import type { RedisStore } from './stores/redis.js';
import { withTimeout } from './timeout.js';

/**
 * Cross-process coalescing over Redis: the first process to miss a key takes a short lock (SET NX PX) and calls the
 * provider; the others poll for its entry, then give up and call the provider themselves. Any Redis trouble means
 * "compute yourself", so it is never worse than no coalescing.
 */
export interface CrossProcess {
  lockTtlMs: number;
  waitMs: number;
  pollMs: number;
}

export type CrossProcessOption = boolean | { lockTtl?: Duration; wait?: Duration; poll?: Duration };

/** Where the locks live: outside every entry prefix (`__lock__` is no escaped label). */
const LOCK_PREFIX = `${KEY_PREFIX}__lock__:`;

export function resolveCrossProcess(option: CrossProcessOption | undefined): CrossProcess | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (option === null || typeof option !== 'object')) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      "crossProcessCoalescing must be true, false or { lockTtl?: '30s', wait?: '10s', poll?: '50ms' }.",
    );
  }
  const settings = option === true ? {} : option;
  return {
    lockTtlMs:
      settings.lockTtl === undefined ? 30_000 : parseDuration(settings.lockTtl, 'crossProcessCoalescing.lockTtl'),
    waitMs:
      settings.wait === undefined
        ? 10_000
        : parseDuration(settings.wait, 'crossProcessCoalescing.wait', { max: MAX_TIMER_MS }),
    pollMs:
      settings.poll === undefined
        ? 50
        : Math.max(5, parseDuration(settings.poll, 'crossProcessCoalescing.poll', { max: MAX_TIMER_MS })),
  };
}

/**
 * Takes the lock for `storedKey` (resolves `{ release }`: compute, write, then release), or waits for the holder's
 * entry (`{ entry }`); undefined when the caller should simply compute.
 */
export async function awaitOtherProcess<T>(
  store: RedisStore,
  storedKey: string,
  settings: CrossProcess,
  io: { timeoutMs: number; timeoutMessage: () => string; read: () => Promise<Envelope<T> | undefined> },
): Promise<{ entry?: Envelope<T>; release?: () => void } | undefined> {
  const lockKey = `${LOCK_PREFIX}${storedKey.slice(KEY_PREFIX.length)}`;
  const token = randomUUID();
  try {
    if (await withTimeout(store.tryLock(lockKey, token, settings.lockTtlMs), io.timeoutMs, io.timeoutMessage)) {
      return { release: () => void store.unlock(lockKey, token).catch(() => {}) };
    }
  } catch {
    return undefined;
  }
  const deadline = Date.now() + settings.waitMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, settings.pollMs));
    const entry = await io.read();
    if (entry) return { entry };
  }
  return undefined;
}
