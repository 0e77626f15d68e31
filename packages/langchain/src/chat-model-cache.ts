import { randomUUID } from 'node:crypto';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { ChatModelStreamEvent } from '@langchain/core/language_models/event';
import type { BaseMessage } from '@langchain/core/messages';
import type { ChatGeneration, ChatGenerationChunk, ChatResult } from '@langchain/core/outputs';
import {
  type CacheRequest,
  type CacheResult,
  type ComputeOptions,
  copyOf,
  type EntryMetadata,
  isLlmemoError,
  type LlmemoError,
  type Lookup,
  type ToolCallPolicy,
  withProperty,
} from '@llmemo/core';
import {
  entryMetadata,
  type GenerationsBody,
  restoreGenerations,
  type StoredGenerationEntry,
  storeGeneration,
  storeLlmOutput,
  summedUsage,
} from './generations.js';
import { markCached, wholeTextToken } from './hit-callbacks.js';
import { LlmKeyReader, type ModelCall, type ResolvedLlmKeyPolicy } from './llm-key.js';
import { messagesKey } from './messages-key.js';
import { missEnder } from './miss-end.js';
import { instanceModel, modelEndpoint, modelSettings } from './model-identity.js';
import { asLlmemoError, type ResolvedBinding } from './options.js';
import {
  type ChunksBody,
  type EventsBody,
  eventsUsage,
  isCompleteEventStream,
  messagesWithUsage,
  restoreChunks,
  restoreEvents,
} from './stream-bodies.js';
import { eventToolNames, messageToolNames, toolVerdict } from './tool-calls.js';

/** `specVersion` of each entry withCache writes; part of the key, so the three shapes never meet. */
export const GENERATE_SPEC = 'langchain.generate.v1';
export const CHUNKS_SPEC = 'langchain.chunks.v1';
export const EVENTS_SPEC = 'langchain.events.v1';

type ParsedOptions = BaseChatModel['ParsedCallOptions'] & { promptIndex?: number };

/** The model methods the cache calls: the wrapped model's own implementations. */
export interface ChatModelCalls {
  generate(messages: BaseMessage[], options: ParsedOptions, runManager?: CallbackManagerForLLMRun): Promise<ChatResult>;
  streamChunks(
    messages: BaseMessage[],
    options: ParsedOptions,
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk>;
  streamEvents(
    messages: BaseMessage[],
    options: ParsedOptions,
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatModelStreamEvent>;
}

function hitMarker(age: number): Record<string, unknown> {
  return { llmemo: { hit: true, age } };
}

/**
 * The id of a replayed message: the run's, as LangChain gives any reply without a provider id (it only does so
 * itself when callbacks are configured). A hit is a new reply, and LangGraph's messages reducer replaces a
 * message whose id it has already seen.
 */
function replyId(runManager: CallbackManagerForLLMRun | undefined): string {
  return `run-${runManager?.runId ?? randomUUID()}`;
}

/**
 * Caches one chat model's three output paths: `_generate` (invoke, batch, generate), `_streamResponseChunks`
 * (`.stream()`, streamEvents v2, LangGraph's token streaming) and `_streamChatModelEvents` (`streamEvents()`).
 * Keys on the full messages (images included) plus the model's cleaned llmKey.
 */
export class ChatModelCache {
  private readonly reader: LlmKeyReader;

  constructor(
    readonly binding: ResolvedBinding,
    readonly policy: ResolvedLlmKeyPolicy,
    readonly scope: string | undefined,
    /** The `storeToolCalls` option, validated. */
    readonly tools: ToolCallPolicy = true,
  ) {
    this.reader = new LlmKeyReader(policy);
  }

  /**
   * The core request for one call of `model` (the cached model, whose llmKey includes its bound options), or
   * undefined when the call options cannot be serialized (a cycle): that call goes to the provider uncached.
   *
   * Keyed on the cleaned llmKey plus what the model itself holds and the llmKey may leave out (model-identity.ts):
   * its invocation params, its endpoint, and its constructor settings when the llmKey names no model.
   */
  request(
    model: BaseChatModel,
    messages: BaseMessage[],
    options: ParsedOptions,
    spec: string,
  ): CacheRequest | undefined {
    let call: ModelCall;
    let settings: Record<string, unknown>;
    try {
      call = this.reader.read(model._getSerializedCacheKeyParametersForCall(options));
      settings = modelSettings(model, options, call.model !== 'unknown');
    } catch (error) {
      this.binding.onError(
        asLlmemoError(error, 'UNSERIALIZABLE_REQUEST', 'The call options cannot be keyed; the call was not cached'),
      );
      return undefined;
    }
    const request: CacheRequest = {
      kind: 'langchain',
      provider: call.provider,
      model: call.model === 'unknown' ? (instanceModel(model) ?? 'unknown') : call.model,
      specVersion: spec,
      input: messagesKey(messages),
      // Names with ':' cannot be llmKey entry names, so these never collide with one.
      params: withProperty(call.params, 'llmemo:model', settings),
    };
    const endpoint = modelEndpoint(model, this.scope);
    if (endpoint !== undefined) request.endpoint = endpoint;
    return request;
  }

  private report(error: unknown, code: LlmemoError['code'], what: string) {
    this.binding.onError(asLlmemoError(error, code, what));
  }

  async generate(
    model: BaseChatModel,
    calls: ChatModelCalls,
    messages: BaseMessage[],
    options: ParsedOptions,
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    const request = this.request(model, messages, options, GENERATE_SPEC);
    if (!request) return calls.generate(messages, options, runManager);
    let original: ChatResult | undefined;
    const computeOptions = copyOf(this.binding.overrides) as ComputeOptions<GenerationsBody>;
    computeOptions.cacheable = (body) =>
      body.generations.length === 0
        ? 'the result has no generations'
        : toolVerdict(this.tools, () => messageToolNames(original?.generations.map((g) => g.message) ?? []));
    computeOptions.metadata = () => entryMetadata(original?.generations.map((generation) => generation.message) ?? []);
    const result = await this.binding.cache.getOrCompute<GenerationsBody>(
      request,
      async () => {
        original = await calls.generate(messages, options, runManager);
        return this.generationsBody(original);
      },
      computeOptions,
    );
    if (original && !result.coalesced) {
      // Wait for the write (bounded by the cache's timeoutMs), as LangChain awaits BaseCache.update: the next
      // identical call in this process then reads the entry instead of racing it.
      if (!result.hit) await this.binding.cache.flush();
      // The caller whose compute ran gets the provider's own objects, untouched.
      return original;
    }
    try {
      return await this.restoreResult(result, runManager);
    } catch (error) {
      this.report(error, 'CORRUPT_ENTRY', 'An unreadable entry was treated as a miss');
      const fresh = await calls.generate(messages, options, runManager);
      await this.overwrite(
        request,
        () => ({ generations: fresh.generations.map(storeGeneration) }),
        () => entryMetadata(fresh.generations.map((generation) => generation.message)),
      );
      return fresh;
    }
  }

  /** The body stored for a provider's result; an unserializable one is reported and stored as nothing. */
  private generationsBody(original: ChatResult): GenerationsBody {
    try {
      const body: GenerationsBody = { generations: original.generations.map(storeGeneration) };
      const llmOutput = storeLlmOutput(original.llmOutput);
      if (llmOutput) body.llmOutput = llmOutput;
      return body;
    } catch (error) {
      this.report(error, 'UNSERIALIZABLE_VALUE', 'A result could not be serialized and was not cached');
      return { generations: [] };
    }
  }

  /** A hit's (or a coalesced caller's) ChatResult, rebuilt from the body; throws on a corrupt one. */
  private async restoreResult(
    result: CacheResult<GenerationsBody>,
    runManager: CallbackManagerForLLMRun | undefined,
  ): Promise<ChatResult> {
    const marker = result.hit ? hitMarker(result.age) : { llmemo: { hit: false, coalesced: true } };
    const generations = restoreGenerations(result.value, { id: replyId(runManager), marker, zeroUsage: true });
    if (generations.some((generation) => !('message' in generation))) {
      throw new TypeError('a chat entry holds a generation without a message');
    }
    if (result.hit) {
      markCached(runManager);
      if (generations[0]) await wholeTextToken(runManager, generations[0].text);
    }
    const llmOutput = storeLlmOutput(result.value.llmOutput);
    return llmOutput
      ? { generations: generations as ChatGeneration[], llmOutput }
      : { generations: generations as ChatGeneration[] };
  }

  /** Replaces an unreadable entry with a fresh value, as the mode allows. Never throws. */
  private async overwrite(request: CacheRequest, body: () => unknown, metadata: () => EntryMetadata | undefined) {
    const { mode, ttl, namespace, noStore } = this.binding.call;
    if (mode === 'read-only' || mode === 'off' || mode === 'replay' || noStore) return;
    try {
      await this.binding.cache.set(request, body(), { ttl, namespace, metadata: metadata() });
    } catch (error) {
      this.report(error, 'UNSERIALIZABLE_VALUE', 'A result could not be stored');
    }
  }

  /** Opens the entry for a stream: a hit's body, or a miss to commit. Store trouble is a miss without a commit. */
  private async open<T>(request: CacheRequest): Promise<Lookup<T> | undefined> {
    try {
      return await this.binding.cache.lookup<T>(request, this.binding.overrides);
    } catch (error) {
      if (isLlmemoError(error, 'CACHE_MISS')) throw error;
      this.report(error, 'STORE_UNAVAILABLE', 'The cache lookup failed; the stream went to the provider');
      return undefined;
    }
  }

  /**
   * Stores a complete recording: commits a miss, or replaces the unreadable entry a hit turned out to be. A recording
   * that asks for a tool `storeToolCalls` keeps out is not stored (a `skip` event says why).
   */
  private async store<T>(
    request: CacheRequest,
    lookup: Lookup<T>,
    body: T,
    metadata: () => EntryMetadata | undefined,
    toolNames: () => string[],
  ): Promise<void> {
    const verdict = toolVerdict(this.tools, toolNames);
    if (verdict !== true) {
      if (lookup.hit) this.binding.cache.reportSkip('NOT_CACHEABLE', verdict, { key: lookup.key, bypass: false });
      else lookup.skip(verdict);
      return;
    }
    if (lookup.hit) await this.overwrite(request, () => body, metadata);
    else await lookup.commit(body, { metadata: metadata() });
  }

  async *streamChunks(
    model: BaseChatModel,
    calls: ChatModelCalls,
    messages: BaseMessage[],
    options: ParsedOptions,
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const request = this.request(model, messages, options, CHUNKS_SPEC);
    const lookup = request && (await this.open<ChunksBody>(request));
    if (lookup?.hit && (yield* this.replayChunks(lookup, options, runManager))) return;
    yield* this.recordChunks(request, lookup, calls, messages, options, runManager);
  }

  /** Replays a hit's chunks with their token callbacks; false (nothing yielded) when the entry is unreadable. */
  private async *replayChunks(
    lookup: Extract<Lookup<ChunksBody>, { hit: true }>,
    options: ParsedOptions,
    runManager: CallbackManagerForLLMRun | undefined,
  ): AsyncGenerator<ChatGenerationChunk, boolean> {
    let chunks: ChatGenerationChunk[];
    try {
      chunks = restoreChunks(lookup.value, hitMarker(lookup.age), replyId(runManager));
    } catch (error) {
      this.report(error, 'CORRUPT_ENTRY', 'An unreadable stream entry was treated as a miss');
      return false;
    }
    markCached(runManager);
    for (const chunk of chunks) {
      yield chunk;
      // As providers do: token callbacks are what LangGraph's "messages" mode and streamEvents v2 stream from.
      const completion = (chunk.generationInfo?.completion as number | undefined) ?? 0;
      await runManager?.handleLLMNewToken(
        chunk.text ?? '',
        { prompt: options.promptIndex ?? 0, completion },
        undefined,
        undefined,
        undefined,
        { chunk },
      );
    }
    return true;
  }

  /** Streams from the provider, recording each chunk; a stream that ran to its end is stored. */
  private async *recordChunks(
    request: CacheRequest | undefined,
    lookup: Lookup<ChunksBody> | undefined,
    calls: ChatModelCalls,
    messages: BaseMessage[],
    options: ParsedOptions,
    runManager: CallbackManagerForLLMRun | undefined,
  ): AsyncGenerator<ChatGenerationChunk> {
    const recorded: StoredGenerationEntry[] = [];
    const messagesSeen: BaseMessage[] = [];
    let recording = lookup !== undefined;
    let complete = false;
    const end = missEnder(lookup, options.signal);
    try {
      for await (const chunk of calls.streamChunks(messages, options, runManager)) {
        if (recording) {
          try {
            // Snapshot before yielding: LangChain sets ids and merges metadata into the chunk downstream.
            recorded.push(storeGeneration(chunk));
            messagesSeen.push(chunk.message);
          } catch (error) {
            recording = false;
            this.report(
              error,
              'UNSERIALIZABLE_VALUE',
              'A stream chunk could not be serialized; the stream is not cached',
            );
          }
        }
        yield chunk;
      }
      // A provider may end early and quietly on abort; only a stream that ran to its end is recorded.
      complete = !options.signal?.aborted;
    } finally {
      if (complete && recording && recorded.length > 0 && request && lookup) {
        const metadata = () => entryMetadata([messagesWithUsage(summedUsage(messagesSeen)), ...messagesSeen]);
        const tools = () => messageToolNames(messagesSeen);
        await this.store(request, lookup, { chunks: recorded } satisfies ChunksBody, metadata, tools);
      }
      end();
    }
  }

  async *streamEvents(
    model: BaseChatModel,
    calls: ChatModelCalls,
    messages: BaseMessage[],
    options: ParsedOptions,
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatModelStreamEvent> {
    const request = this.request(model, messages, options, EVENTS_SPEC);
    const lookup = request && (await this.open<EventsBody>(request));
    if (lookup?.hit) {
      let events: ChatModelStreamEvent[] | undefined;
      try {
        events = restoreEvents(lookup.value, hitMarker(lookup.age), replyId(runManager));
      } catch (error) {
        this.report(error, 'CORRUPT_ENTRY', 'An unreadable event-stream entry was treated as a miss');
      }
      if (events) {
        markCached(runManager);
        yield* events;
        return;
      }
    }
    const recorded: ChatModelStreamEvent[] = [];
    let recording = lookup !== undefined;
    let complete = false;
    const end = missEnder(lookup, options.signal);
    try {
      for await (const event of calls.streamEvents(messages, options, runManager)) {
        if (recording) {
          try {
            recorded.push(structuredClone(event));
          } catch (error) {
            recording = false;
            this.report(error, 'UNSERIALIZABLE_VALUE', 'A stream event could not be copied; the stream is not cached');
          }
        }
        yield event;
      }
      complete = !options.signal?.aborted && isCompleteEventStream(recorded);
    } finally {
      if (complete && recording && request && lookup) {
        const metadata = () => entryMetadata([messagesWithUsage(eventsUsage(recorded))]);
        await this.store(request, lookup, { events: recorded } satisfies EventsBody, metadata, () =>
          eventToolNames(recorded),
        );
      }
      end();
    }
  }
}
