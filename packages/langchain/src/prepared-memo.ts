import type { CacheRequest, CacheStore, PreparedRequest, ResponseCache } from '@llmemo/core';
import { LRUCache } from 'lru-cache';

/** How many `(prompt, llmKey)` pairs an LlmemoCache remembers the prepared request of. */
export const MEMO_MAX_ENTRIES = 1024;
/** And their total length in UTF-16 code units (a pair's memo key holds both strings; the request shares them). */
export const MEMO_MAX_CHARS = 4 * 1024 * 1024;

interface Memo {
  handle: PreparedRequest;
  /** The store current when it was prepared: after `useStore()` core would key the handle afresh every time. */
  store: CacheStore;
  /** Whether the request's endpoint came from OPENAI_BASE_URL, and the value it came from. */
  readsEnv: boolean;
  env: string | undefined;
}

/** OPENAI_BASE_URL, undefined when unset or empty. */
export function baseUrlEnv(): string | undefined {
  const fromEnv = process.env.OPENAI_BASE_URL;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/**
 * LlmemoCache's memo from the exact `(prompt, llmKey)` strings to the request core prepared for them, so a repeated
 * call skips reading the llmKey, the canonical walk and the SHA-256. Keyed by the whole of both strings (nothing
 * normalized, trimmed or hashed), so two pairs that differ anywhere never share a handle. Everything else that
 * goes into the request is fixed per LlmemoCache (its cache, scope and call options) or checked on each use (the
 * store, OPENAI_BASE_URL); core itself refuses a handle from another cache, store or namespace.
 */
export class PreparedMemo {
  private readonly entries = new LRUCache<string, Memo>({
    max: MEMO_MAX_ENTRIES,
    maxSize: MEMO_MAX_CHARS,
    sizeCalculation: (_memo, key) => key.length + 1,
  });

  constructor(
    private readonly cache: ResponseCache,
    private readonly namespace: string,
  ) {}

  /** The pair's handle, or undefined when none is remembered or it no longer fits (store or endpoint changed). */
  get(prompt: string, llmKey: string): PreparedRequest | undefined {
    const memo = this.entries.get(memoKey(prompt, llmKey));
    if (memo === undefined || memo.store !== this.cache.store) return undefined;
    if (memo.readsEnv && memo.env !== baseUrlEnv()) return undefined;
    return memo.handle;
  }

  /** Prepares `request`, built from exactly this pair just now, and remembers it. */
  add(prompt: string, llmKey: string, request: CacheRequest, readsEnv: boolean): PreparedRequest {
    const handle = this.cache.prepare(request, { namespace: this.namespace });
    const env = readsEnv ? baseUrlEnv() : undefined;
    this.entries.set(memoKey(prompt, llmKey), { handle, store: this.cache.store, readsEnv, env });
    return handle;
  }

  /** How many pairs are remembered (for tests). */
  get size(): number {
    return this.entries.size;
  }
}

/** Injective: the llmKey's length comes first, so no two pairs make one memo key. */
function memoKey(prompt: string, llmKey: string): string {
  return `${llmKey.length}:${llmKey}${prompt}`;
}
