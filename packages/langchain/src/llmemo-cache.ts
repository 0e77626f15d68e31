import { randomUUID } from 'node:crypto';
import { BaseCache } from '@langchain/core/caches';
import type { BaseMessage } from '@langchain/core/messages';
import type { Generation } from '@langchain/core/outputs';
import {
  type CacheRequest,
  endpointLabel,
  isLlmemoError,
  LlmemoError,
  type RequestInput,
  type ResponseCache,
} from '@llmemo/core';
import {
  entryMetadata,
  type GenerationsBody,
  restoreGenerations,
  type StoredGenerationEntry,
  storeGeneration,
} from './generations.js';
import { LlmKeyReader, type ModelCall } from './llm-key.js';
import { asLlmemoError, type ChatCacheOptions, type ResolvedBinding, resolveChatOptions } from './options.js';
import { baseUrlEnv, PreparedMemo } from './prepared-memo.js';
import { messageToolNames, toolVerdict } from './tool-calls.js';
import { unkeyableReason } from './unkeyable.js';

/** `specVersion` of LlmemoCache entries: the body is `{ generations: StoredGenerationEntry[] }`. */
export const GENERATIONS_SPEC = 'langchain.generations.v1';

export type LlmemoCacheOptions = ChatCacheOptions;

/**
 * A LangChain `BaseCache` over an llmemo cache: pass it as `cache:` to any chat model or LLM.
 *
 * It sees what LangChain gives every cache, `(prompt, llmKey)`, and keys on the prompt plus the llmKey cleaned of
 * what never changes the answer (API keys, abort signals, LangGraph's per-run executionInfo, zod's lazily filled
 * internals), so entries survive key rotation and hit inside LangGraph and createAgent. It fails open: a store
 * error or an unreadable entry is a miss (`null`, never `[]`, which would crash LangChain), and a failed write is
 * reported, never thrown into `invoke`.
 */
export class LlmemoCache extends BaseCache<Generation[]> {
  readonly cache: ResponseCache;
  private readonly binding: ResolvedBinding & Pick<ReturnType<typeof resolveChatOptions>, 'tools'>;
  private readonly reader: LlmKeyReader;
  private readonly scope: string | undefined;
  /** The endpoint label of every call whose llmKey shows where it goes: the scope's alone (built once). */
  private readonly scopeEndpoint: string | undefined;
  private readonly defaultEncoder = this.keyEncoder;
  /** Model classes already warned about, so each is warned about once. */
  private readonly warned = new Set<string>();
  /** The prepared request (its key derived once) of each exact `(prompt, llmKey)` seen lately. */
  private readonly memo: PreparedMemo;

  constructor(options: LlmemoCacheOptions) {
    super();
    const resolved = resolveChatOptions(options, 'LlmemoCache');
    this.binding = resolved;
    this.cache = resolved.cache;
    this.scope = resolved.scope;
    this.scopeEndpoint = endpointLabel({ scope: resolved.scope });
    this.reader = new LlmKeyReader(resolved.policy);
    this.memo = new PreparedMemo(resolved.cache, resolved.call.namespace);
  }

  /**
   * The core request this cache keys `(prompt, llmKey)` on. The raw llmKey is never stored, only hashed cleaned.
   * Throws LlmemoError UNSUPPORTED for an llmKey that cannot tell two models apart (see `lookup`).
   */
  request(prompt: string, llmKey: string): CacheRequest {
    const call = this.reader.read(llmKey);
    const refused = unkeyableReason(call, this.scope);
    if (refused !== undefined) throw new LlmemoError('UNSUPPORTED', refused);
    const request: CacheRequest =
      this.keyEncoder !== this.defaultEncoder
        ? {
            // makeDefaultKeyEncoder() was called: the app decides what identifies a call, from the cleaned llmKey.
            kind: 'langchain',
            provider: call.provider,
            model: call.model,
            specVersion: GENERATIONS_SPEC,
            input: this.keyEncoder(prompt, JSON.stringify(call.params)),
          }
        : {
            kind: 'langchain',
            provider: call.provider,
            model: call.model,
            specVersion: GENERATIONS_SPEC,
            input: prompt,
            params: call.params,
          };
    const url = readsBaseUrlEnv(call) ? baseUrlEnv() : undefined;
    const endpoint = url === undefined ? this.scopeEndpoint : endpointLabel({ url, scope: this.scope });
    if (endpoint !== undefined) request.endpoint = endpoint;
    return request;
  }

  /**
   * The request for a lookup or update, or undefined when this model cannot be keyed safely: the call then goes to
   * the provider uncached, with a `skip` event each time and one warning per model class.
   */
  private keyed(prompt: string, llmKey: string): CacheRequest | undefined {
    try {
      return this.request(prompt, llmKey);
    } catch (error) {
      if (!isLlmemoError(error, 'UNSUPPORTED')) throw error;
      this.cache.reportSkip('NOT_CACHEABLE', error.message);
      const provider = this.reader.read(llmKey).provider;
      if (!this.warned.has(provider)) {
        this.warned.add(provider);
        process.emitWarning(error.message, { code: 'LLMEMO_UNKEYABLE_MODEL' });
      }
      return undefined;
    }
  }

  /**
   * `keyed`, as a handle core issued with its key derived, memoized by the exact `(prompt, llmKey)` strings (this
   * instance's scope and options are fixed, and the one outside input, OPENAI_BASE_URL, is compared on each use).
   * Not memoized: under an app's key encoder (it may read anything), and models that cannot be keyed (each call
   * reports its skip).
   */
  private prepared(prompt: string, llmKey: string): RequestInput | undefined {
    if (this.keyEncoder !== this.defaultEncoder) return this.keyed(prompt, llmKey);
    const known = this.memo.get(prompt, llmKey);
    if (known !== undefined) return known;
    const request = this.keyed(prompt, llmKey);
    if (request === undefined) return undefined;
    return this.memo.add(prompt, llmKey, request, readsBaseUrlEnv(this.reader.read(llmKey)));
  }

  /** The stored key for `(prompt, llmKey)`, for inspection and deletes. */
  key(prompt: string, llmKey: string): string {
    return this.cache.key(this.request(prompt, llmKey), { namespace: this.binding.call.namespace });
  }

  override async lookup(prompt: string, llmKey: string): Promise<Generation[] | null> {
    let request: RequestInput | undefined;
    let found: Awaited<ReturnType<ResponseCache['lookup']>>;
    try {
      request = this.prepared(prompt, llmKey);
      if (request === undefined) return null;
      found = await this.cache.lookup<GenerationsBody>(request, this.binding.overrides);
    } catch (error) {
      // Mode 'replay' means "never call the provider": its miss must reach the caller.
      if (isLlmemoError(error, 'CACHE_MISS')) throw error;
      this.binding.onError(asLlmemoError(error, 'STORE_UNAVAILABLE', 'LlmemoCache.lookup failed; treated as a miss'));
      return null;
    }
    if (!found.hit) {
      // LangChain stores the answer through `update` (cache.set), not this lookup: end it now, or useStore() waits
      // for it until its drain timeout.
      found.release();
      return null;
    }
    try {
      return restoreGenerations(found.value, {
        // A hit is a new reply, so it gets a new id: LangGraph's messages reducer replaces a message with an id it
        // has seen, and the provider would never send the same id twice either.
        id: `run-${randomUUID()}`,
        marker: { llmemo: { hit: true, age: found.age } },
        // LangChain zeroes usage_metadata of AIMessages on a cache hit itself.
        zeroUsage: false,
      });
    } catch (error) {
      this.binding.onError(asLlmemoError(error, 'CORRUPT_ENTRY', 'An unreadable entry was treated as a miss'));
      // Awaited, so the delete cannot land after the update LangChain makes next with the fresh answer.
      await this.cache.delete(request, { namespace: this.binding.call.namespace }).catch(() => false);
      return null;
    }
  }

  override async update(prompt: string, llmKey: string, value: Generation[]): Promise<void> {
    try {
      const { mode, noStore, ttl, namespace } = this.binding.call;
      if (mode === 'read-only' || mode === 'off' || mode === 'replay' || noStore) return;
      if (!Array.isArray(value) || value.length === 0) return;
      const request = this.prepared(prompt, llmKey);
      if (request === undefined) return;
      const messages = value.map((generation) => (generation as { message?: BaseMessage }).message);
      const verdict = toolVerdict(this.binding.tools, () => messageToolNames(messages));
      if (verdict !== true) {
        this.cache.reportSkip('NOT_CACHEABLE', verdict, { key: this.cache.key(request, { namespace }), bypass: false });
        return;
      }
      const generations: StoredGenerationEntry[] = value.map(storeGeneration);
      const metadata = entryMetadata(messages);
      // Awaited (bounded by the cache's timeoutMs) so the next identical call in this process reads its own write.
      await this.cache.set(request, { generations } satisfies GenerationsBody, {
        ttl,
        namespace,
        metadata,
      });
    } catch (error) {
      this.binding.onError(asLlmemoError(error, 'UNSERIALIZABLE_VALUE', 'LlmemoCache.update could not store a result'));
    }
  }
}

/**
 * Whether an llmKey's requests go where OPENAI_BASE_URL says: ChatOpenAI and the classes built on it show a
 * configured `baseURL`, and without one the openai client reads OPENAI_BASE_URL, which differs between processes
 * sharing a store.
 */
function readsBaseUrlEnv(call: ModelCall): boolean {
  return call.provider === 'openai' && call.params.baseURL === undefined;
}
