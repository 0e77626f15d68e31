import { randomUUID } from 'node:crypto';
import { BaseCache } from '@langchain/core/caches';
import type { BaseMessage } from '@langchain/core/messages';
import type { Generation } from '@langchain/core/outputs';
import { type CacheRequest, isLlmemoError, type ResponseCache } from '@llmemo/core';
import {
  entryMetadata,
  type GenerationsBody,
  restoreGenerations,
  type StoredGenerationEntry,
  storeGeneration,
} from './generations.js';
import { LlmKeyReader } from './llm-key.js';
import { asLlmemoError, type ChatCacheOptions, type ResolvedBinding, resolveChatOptions } from './options.js';

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
  private readonly binding: ResolvedBinding;
  private readonly reader: LlmKeyReader;
  private readonly defaultEncoder = this.keyEncoder;

  constructor(options: LlmemoCacheOptions) {
    super();
    const resolved = resolveChatOptions(options, 'LlmemoCache');
    this.binding = resolved;
    this.cache = resolved.cache;
    this.reader = new LlmKeyReader(resolved.policy);
  }

  /** The core request this cache keys `(prompt, llmKey)` on. The raw llmKey is never stored, only hashed cleaned. */
  request(prompt: string, llmKey: string): CacheRequest {
    const call = this.reader.read(llmKey);
    if (this.keyEncoder !== this.defaultEncoder) {
      // makeDefaultKeyEncoder() was called: the app decides what identifies a call, from the cleaned llmKey.
      const cleaned = JSON.stringify(call.params);
      return {
        kind: 'langchain',
        provider: call.provider,
        model: call.model,
        specVersion: GENERATIONS_SPEC,
        input: this.keyEncoder(prompt, cleaned),
      };
    }
    return {
      kind: 'langchain',
      provider: call.provider,
      model: call.model,
      specVersion: GENERATIONS_SPEC,
      input: prompt,
      params: call.params,
    };
  }

  /** The stored key for `(prompt, llmKey)`, for inspection and deletes. */
  key(prompt: string, llmKey: string): string {
    return this.cache.key(this.request(prompt, llmKey), { namespace: this.binding.call.namespace });
  }

  override async lookup(prompt: string, llmKey: string): Promise<Generation[] | null> {
    let request: CacheRequest;
    let found: Awaited<ReturnType<ResponseCache['lookup']>>;
    try {
      request = this.request(prompt, llmKey);
      found = await this.cache.lookup<GenerationsBody>(request, this.binding.overrides);
    } catch (error) {
      // Mode 'replay' means "never call the provider": its miss must reach the caller.
      if (isLlmemoError(error, 'CACHE_MISS')) throw error;
      this.binding.onError(asLlmemoError(error, 'STORE_UNAVAILABLE', 'LlmemoCache.lookup failed; treated as a miss'));
      return null;
    }
    if (!found.hit) return null;
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
      const generations: StoredGenerationEntry[] = value.map(storeGeneration);
      const metadata = entryMetadata(value.map((generation) => (generation as { message?: BaseMessage }).message));
      // Awaited (bounded by the cache's timeoutMs) so the next identical call in this process reads its own write.
      await this.cache.set(this.request(prompt, llmKey), { generations } satisfies GenerationsBody, {
        ttl,
        namespace,
        metadata,
      });
    } catch (error) {
      this.binding.onError(asLlmemoError(error, 'UNSERIALIZABLE_VALUE', 'LlmemoCache.update could not store a result'));
    }
  }
}
