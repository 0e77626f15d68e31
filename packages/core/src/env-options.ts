import type { CacheOptions } from './cache-types.js';
import { resolveMode, resolveNamespace, resolveTtl } from './options.js';

/**
 * What changes per environment, read from the environment when `createCache` is not given it: the same code
 * records locally (`LLMEMO_MODE` unset) and replays in CI (`LLMEMO_MODE=replay`). An option in code wins over the
 * variable; an invalid variable throws INVALID_OPTIONS naming it. `LLMEMO_TTL` takes ms, a duration ('7d') or
 * 'never' (also 'none', 'null') for no expiry.
 */
export const ENV_OPTIONS = {
  store: 'LLMEMO_STORE',
  mode: 'LLMEMO_MODE',
  namespace: 'LLMEMO_NAMESPACE',
  ttl: 'LLMEMO_TTL',
} as const;

const NO_EXPIRY = new Set(['null', 'none', 'never']);

/** The options with the environment's values filled in where the option is not given. */
export function withEnvironment(
  options: CacheOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): CacheOptions {
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const filled: CacheOptions = { ...options };
  const store = read(ENV_OPTIONS.store);
  if (options.store === undefined && store !== undefined) filled.store = store;
  const mode = read(ENV_OPTIONS.mode);
  if (options.mode === undefined && mode !== undefined) {
    filled.mode = resolveMode(mode, ENV_OPTIONS.mode);
  }
  const namespace = read(ENV_OPTIONS.namespace);
  if (options.namespace === undefined && namespace !== undefined) {
    filled.namespace = resolveNamespace(namespace, ENV_OPTIONS.namespace);
  }
  const ttl = read(ENV_OPTIONS.ttl);
  if (options.ttl === undefined && ttl !== undefined) {
    filled.ttl = NO_EXPIRY.has(ttl.toLowerCase())
      ? null
      : resolveTtl(/^\d+$/.test(ttl) ? Number(ttl) : ttl, ENV_OPTIONS.ttl);
  }
  return filled;
}
