import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { CacheStore, Logger } from '@llmemo/core';
import { LRUCache } from 'lru-cache';
import { describeError } from './errors.js';

/** Where the generated secret is kept: outside every entry prefix, so no purge or prune ever deletes it. */
export const NAMESPACE_SECRET_KEY = 'llmemo:proxy:namespace-secret';
export const NAMESPACE_SECRET_ENV = 'LLMEMO_NAMESPACE_SECRET';

const STORED_PREFIX = 'llmemo-namespace-secret.v1:';
/** A store that failed is asked again after this long; meanwhile requests go upstream uncached. */
const RETRY_MS = 5000;
/** Bound on each store call while loading, so a hung store cannot hold requests. */
const STORE_TIMEOUT_MS = 2000;
/** After writing a fresh secret, read it back this much later: proxies started together adopt the last write. */
const SETTLE_MS = 200;
/**
 * How many credential namespaces are remembered: a proxy serves a handful of keys; a client cycling through more
 * only pushes the oldest out (each miss costs one HMAC, as without the memo).
 */
export const NAMESPACE_MEMO_SIZE = 1024;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the store did not ${what} within ${STORE_TIMEOUT_MS} ms`)),
      STORE_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function parseStored(value: string | undefined): Buffer | undefined {
  if (value === undefined || !value.startsWith(STORED_PREFIX)) return undefined;
  const key = Buffer.from(value.slice(STORED_PREFIX.length), 'base64url');
  return key.length === 32 ? key : undefined;
}

/**
 * The server secret that per-credential namespaces are keyed with (HMAC-SHA-256). Given by the operator
 * (`namespaceSecret` / LLMEMO_NAMESPACE_SECRET), or generated on first start and kept in the store, so every proxy
 * on one Redis or SQLite file derives the same namespaces. Without it nobody can compute a tenant's namespace from
 * a guessed API key, and a namespace name seen in a response or a key listing leads nowhere.
 */
export class NamespaceSecret {
  private key: Buffer | undefined;
  private loading: Promise<Buffer | undefined> | undefined;
  private failedAt = 0;
  /** Namespaces derived so far, by the exact JSON text of the credentials. */
  private readonly derived = new LRUCache<string, string>({ max: NAMESPACE_MEMO_SIZE });
  /** The secret the remembered namespaces were derived under: another one empties the memo. */
  private derivedUnder: Buffer | undefined;

  constructor(
    private readonly store: CacheStore,
    given: string | undefined,
    private readonly logger?: Logger,
  ) {
    // Hashed, so a passphrase of any length becomes a 256-bit key.
    if (given !== undefined) this.key = createHash('sha256').update(`llmemo-namespace:${given}`).digest();
    // A memory store lives and dies with this process: nothing to agree on, and it would take an entry's place.
    else if (store.type === 'memory') this.key = randomBytes(32);
  }

  /** The secret, when loaded; undefined while the store cannot be asked (requests then bypass the cache). */
  get(): Buffer | undefined | Promise<Buffer | undefined> {
    if (this.key) return this.key;
    if (this.loading) return this.loading;
    if (Date.now() - this.failedAt < RETRY_MS) return undefined;
    this.loading = this.load().then(
      (key) => {
        this.key = key;
        this.loading = undefined;
        return key;
      },
      (error: unknown) => {
        this.failedAt = Date.now();
        this.loading = undefined;
        this.logger?.error?.(
          `llmemo-proxy: could not load the namespace secret from the ${this.store.type} store (${describeError(error)}); requests go upstream uncached until it answers. Set ${NAMESPACE_SECRET_ENV} to not depend on the store for it.`,
        );
        return undefined;
      },
    );
    return this.loading;
  }

  get ready(): boolean {
    return this.key !== undefined;
  }

  /** How many credential namespaces are remembered now. */
  get remembered(): number {
    return this.derived.size;
  }

  /**
   * `credentialNamespace(key, credentials)`, remembered: the HMAC was a tenth of a request's path to the upstream.
   * Looked up by the credentials' exact text and valid only under the very secret it was derived with.
   */
  namespaceOf(key: Buffer, credentials: readonly string[]): string {
    if (this.derivedUnder !== key) {
      this.derived.clear();
      this.derivedUnder = key;
    }
    const text = JSON.stringify(credentials);
    let namespace = this.derived.get(text);
    if (namespace === undefined) {
      namespace = namespaceOfText(key, text);
      this.derived.set(text, namespace);
    }
    return namespace;
  }

  private async load(): Promise<Buffer> {
    const found = await withTimeout(this.store.get(NAMESPACE_SECRET_KEY), 'answer');
    const existing = parseStored(found);
    if (existing) return existing;
    if (found !== undefined) {
      throw new Error(
        `${NAMESPACE_SECRET_KEY} holds something that is not a namespace secret; delete it to start over`,
      );
    }
    const fresh = `${STORED_PREFIX}${randomBytes(32).toString('base64url')}`;
    await withTimeout(this.store.set(NAMESPACE_SECRET_KEY, fresh, undefined), 'store the secret');
    // Proxies that started at the same moment each wrote one: all of them adopt whichever write landed last.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const settled = parseStored(await withTimeout(this.store.get(NAMESPACE_SECRET_KEY), 'answer'));
    if (!settled) throw new Error('the secret just written could not be read back');
    return settled;
  }
}

function namespaceOfText(secret: Buffer, credentials: string): string {
  const digest = createHmac('sha256', secret).update(credentials).digest('hex');
  return `key-${digest.slice(0, 32)}`;
}

/** The namespace of a set of credentials: `key-` and 128 bits of HMAC-SHA-256 under the server secret. */
export function credentialNamespace(secret: Buffer, credentials: readonly string[]): string {
  return namespaceOfText(secret, JSON.stringify(credentials));
}
