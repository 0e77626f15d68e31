import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessageChunk } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { ChatOpenAI, type ChatOpenAIFields, OpenAIEmbeddings } from '@langchain/openai';
import { type CacheOptions, createCache, type LlmemoError, type ResponseCache } from '@llmemo/core';
import {
  createOpenAITestServer,
  type OpenAITestServer,
  type StoreKind,
  storeUrl,
  uniqueNamespace,
} from '@llmemo/test-support';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

export const CHAT_PATH = '/v1/chat/completions';
export const EMBEDDINGS_PATH = '/v1/embeddings';

/** One local OpenAI-compatible server per test file, reset before each test. */
export function useOpenAIServer(): { readonly server: OpenAITestServer } {
  const holder = {} as { server: OpenAITestServer };
  beforeAll(async () => {
    holder.server = await createOpenAITestServer();
  });
  afterAll(async () => {
    await holder.server?.close();
  });
  beforeEach(() => {
    holder.server.reset();
  });
  return holder;
}

/** A real ChatOpenAI pointed at the test server. */
export function chatModel(server: OpenAITestServer, fields: Partial<ChatOpenAIFields> = {}): ChatOpenAI {
  return new ChatOpenAI({
    model: 'gpt-4o-mini',
    apiKey: 'test',
    maxRetries: 0,
    configuration: { baseURL: server.url },
    ...fields,
  });
}

export function embeddingsModel(server: OpenAITestServer, model = 'text-embedding-3-small', dimensions?: number) {
  return new OpenAIEmbeddings({
    model,
    apiKey: 'test',
    maxRetries: 0,
    configuration: { baseURL: server.url },
    ...(dimensions === undefined ? {} : { dimensions }),
  });
}

/** Caches created by a test, closed after it. Each gets a namespace no other test uses (Redis is shared). */
export function useCaches(): (kind: StoreKind, options?: CacheOptions) => Promise<ResponseCache> {
  const open: ResponseCache[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((cache) => cache.close()));
  });
  return async (kind, options = {}) => {
    const cache = createCache({ store: storeUrl(kind), namespace: uniqueNamespace('lc'), timeoutMs: 2000, ...options });
    open.push(cache);
    // The Redis store fails fast while disconnected (no offline queue), so connect before the test's first call.
    await (cache.store as { ready?: () => Promise<void> }).ready?.();
    return cache;
  };
}

/** Collects what onError receives. */
export function errorSink(): { errors: LlmemoError[]; onError: (error: LlmemoError) => void } {
  const errors: LlmemoError[] = [];
  return { errors, onError: (error) => errors.push(error) };
}

/** Reads a stream to its end. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/**
 * A minimal chat model whose replies are AIMessageChunks carrying an `extract` tool call, like providers that
 * aggregate a stream inside _generate. It uses BaseChatModel's own withStructuredOutput, whose parser rejects
 * anything but an AIMessageChunk, so a cache that hands back an AIMessage breaks it.
 */
export class ChunkyChatModel extends BaseChatModel {
  calls = 0;

  _llmType(): string {
    return 'chunky';
  }

  override bindTools(tools: unknown[]) {
    return this.withConfig({ tools } as never);
  }

  async _generate(): Promise<ChatResult> {
    this.calls++;
    const message = new AIMessageChunk({
      content: '',
      tool_call_chunks: [
        { name: 'extract', args: '{"name":"Ada","age":36}', id: 'c1', index: 0, type: 'tool_call_chunk' },
      ],
    });
    return { generations: [{ text: '', message }] };
  }
}
