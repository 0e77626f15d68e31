import { existsSync } from 'node:fs';
import {
  createCache,
  ENCRYPTION_KEY_ENV,
  type EntryFilter,
  filePath,
  isLlmemoError,
  PREVIOUS_KEYS_ENV,
  parseDuration,
  parseKeyMaterial,
  type ResponseCache,
} from '@llmemo/core';
import { CliError, redact } from './errors.js';

export const STORE_ENV = 'LLMEMO_STORE';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  store?: string;
  json?: boolean;
  encryptionKey?: string;
  progress?: boolean;
}

/** The filter flags of ls, purge and export. */
export interface FilterOptions {
  namespace?: string;
  kind?: string;
  provider?: string;
  model?: string;
  olderThan?: string;
  responseModel?: string;
  all?: boolean;
}

const CONNECT_TIMEOUT_MS = 3000;

function storeUrlFrom(options: GlobalOptions): string {
  const url = options.store ?? process.env[STORE_ENV];
  if (!url) {
    throw new CliError(
      `no store given: pass --store sqlite://path/to/cache.sqlite or --store redis://host:6379, or set ${STORE_ENV}.`,
      2,
    );
  }
  return url.trim();
}

/** A file:// store the command reads must exist: a typo would otherwise list an empty store. */
function checkDirectory(url: string, create: boolean): void {
  let dir: string;
  try {
    dir = filePath(url);
  } catch (error) {
    throw new CliError((error as Error).message.replace(/^store /, '--store '), 2);
  }
  if (!create && !existsSync(dir)) {
    throw new CliError(
      `no directory at ${dir}: check --store (file://relative/dir from the current directory, file:///abs/dir).`,
    );
  }
}

function sqliteFile(url: string): string {
  return decodeURIComponent(url.replace(/^sqlite:\/\//i, '').split('?')[0] ?? '');
}

/**
 * Opens the store a command works on, checks it is reachable, and returns a cache over it. Maintenance never
 * needs the encryption key except to open bodies (inspect): it is optional everywhere else.
 */
export async function openCache(options: GlobalOptions, { create = false } = {}): Promise<ResponseCache> {
  const url = storeUrlFrom(options);
  checkStoreUrl(url, create);
  const cache = maintenanceCache(url, encryptionFrom(options));
  await checkReachable(cache, url);
  return cache;
}

/** Refuses a store the CLI cannot open (memory://, an unknown scheme) or, unless creating, one that is not there. */
function checkStoreUrl(url: string, create: boolean): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'memory') {
    throw new CliError(
      "memory:// lives inside one process, so there is nothing for the CLI to open: use the app's sqlite:// or redis:// store.",
      2,
    );
  }
  if (scheme !== 'sqlite' && scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'file') {
    throw new CliError(
      `--store must be sqlite://path/to/cache.sqlite, file://path/to/dir, redis://host:6379 or rediss://host:6380 (TLS); got ${JSON.stringify(scheme ? `${scheme}://…` : url)}.`,
      2,
    );
  }
  if (scheme === 'file') checkDirectory(url, create);
  if (scheme === 'sqlite') checkDatabaseFile(url, create);
}

/** A sqlite:// store must name a file, and the file must exist unless the command creates it. */
function checkDatabaseFile(url: string, create: boolean): void {
  const file = sqliteFile(url);
  if (file === '' || file === ':memory:') {
    throw new CliError(`--store ${url} names no database file: use sqlite://path/to/cache.sqlite.`, 2);
  }
  if (!create && !existsSync(file)) {
    throw new CliError(
      `no SQLite database at ${file}: check --store (relative paths start from the current directory; use sqlite:///abs/path for an absolute one).`,
    );
  }
}

type Encryption = { key: Buffer; previousKeys: Buffer[] } | false;

/** The keys from --encryption-key or the environment (with the previous keys); false when none is given. */
function encryptionFrom(options: GlobalOptions): Encryption {
  const keyText = options.encryptionKey ?? process.env[ENCRYPTION_KEY_ENV];
  if (!keyText) return false;
  const source = options.encryptionKey ? '--encryption-key' : ENCRYPTION_KEY_ENV;
  const previous = (process.env[PREVIOUS_KEYS_ENV] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  try {
    return {
      key: parseKeyMaterial(keyText, source),
      previousKeys: previous.map((item) => parseKeyMaterial(item, PREVIOUS_KEYS_ENV)),
    };
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
}

/** A cache over the store for maintenance only: no timeouts, no background work, the app's env settings ignored. */
function maintenanceCache(url: string, encryption: Encryption): ResponseCache {
  try {
    return createCache({
      store: url,
      encryption,
      // Maintenance runs long scans: no per-operation timeout, no background work of its own.
      timeoutMs: 600_000,
      persistStats: false,
      pruneInterval: false,
      // The maintenance cache never reads or writes through the read path: LLMEMO_MODE, LLMEMO_NAMESPACE and
      // LLMEMO_TTL (meant for apps, see createCache) must not change or break it.
      mode: 'read-write',
      namespace: 'default',
      ttl: null,
      metrics: false,
      redis: { connectTimeoutMs: CONNECT_TIMEOUT_MS },
    });
  } catch (error) {
    if (isLlmemoError(error, 'INVALID_OPTIONS')) throw new CliError(error.message.replace(/^store /, '--store '), 2);
    throw error;
  }
}

/** Waits for the store and reads it once; on failure closes the cache and says why and what to check. */
async function checkReachable(cache: ResponseCache, url: string): Promise<void> {
  // The Redis client reports why it cannot connect as an event, and keeps retrying until the connect timeout:
  // the first error (a refused connection, a bad password) is the answer, so fail on it at once.
  let lastClientError: string | undefined;
  const firstClientError = new Promise<never>((_, reject) => {
    if (cache.store.type !== 'redis') return;
    (cache.store as unknown as { client: { on(event: string, listener: (error: Error) => void): void } }).client.on(
      'error',
      (error) => {
        lastClientError ??= error.message || error.name;
        reject(error);
      },
    );
  });
  firstClientError.catch(() => {});
  try {
    await Promise.race([cache.store.ready(), firstClientError]);
    await cache.store.count('');
  } catch (error) {
    await cache.close().catch(() => {});
    const reason = lastClientError ?? (error instanceof Error ? error.message : String(error));
    const hint =
      cache.store.type === 'redis'
        ? 'check the URL, that the server is running, and the credentials (redis://user:password@host:6379; rediss:// for TLS)'
        : 'check that the file is an llmemo SQLite database and is readable';
    throw new CliError(`cannot open ${redact(url)} (${reason.replace(/\s*\n\s*/g, ' ')}): ${hint}.`);
  }
}

/** Builds a core filter from the flags; the CLI's scope is every namespace unless --namespace narrows it. */
export function toFilter(options: FilterOptions): EntryFilter {
  const filter: EntryFilter = {};
  if (options.namespace !== undefined) filter.namespace = options.namespace;
  else filter.all = true;
  if (options.kind !== undefined) filter.kind = options.kind;
  if (options.provider !== undefined) filter.provider = options.provider;
  if (options.model !== undefined) filter.model = options.model;
  if (options.olderThan !== undefined) filter.olderThan = options.olderThan;
  if (options.responseModel !== undefined) filter.responseModel = options.responseModel;
  return filter;
}

/** Commander argument parser for durations: fails at parse time with the same wording as the library. */
export function durationArgument(value: string): string {
  try {
    parseDuration(value, '--older-than');
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  return value;
}

export function positiveInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      throw new CliError(`${name} must be a non-negative integer; got ${JSON.stringify(value)}.`, 2);
    }
    return n;
  };
}
