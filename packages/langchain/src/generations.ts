import { deserializeStoredGeneration, serializeGeneration } from '@langchain/core/caches';
import { AIMessageChunk, type BaseMessage, type StoredMessage } from '@langchain/core/messages';
import type { Generation } from '@langchain/core/outputs';
import { copyOf, type EntryMetadata, LlmemoError } from '@llmemo/core';

/**
 * One stored generation: LangChain's own `StoredGeneration` (`serializeGeneration`: the text and `message.toDict()`),
 * so LangChain's `deserializeStoredGeneration` reads it, plus what that format drops: `generationInfo` and whether
 * the message was a chunk (LangChain would give it back as an AIMessage, which breaks `AIMessageChunk.isInstance`
 * checks such as the default `withStructuredOutput` parser).
 */
export interface StoredGenerationEntry {
  text: string;
  message?: StoredMessage;
  generationInfo?: Record<string, unknown>;
  chunk?: true;
}

/** The body of a generations entry (LlmemoCache and withCache's invoke path). */
export interface GenerationsBody {
  generations: StoredGenerationEntry[];
  /**
   * withCache: the model's `llmOutput` (e.g. `{ tokenUsage }`), which LangChain merges into a single reply's
   * `response_metadata`; LangChain's own cache path keeps it there, since it stores the merged message.
   */
  llmOutput?: Record<string, unknown>;
}

/** A plain-data copy of a model's llmOutput, or undefined when it has none (or none that is plain data). */
export function storeLlmOutput(llmOutput: unknown): Record<string, unknown> | undefined {
  if (llmOutput === null || typeof llmOutput !== 'object') return undefined;
  try {
    const copy = JSON.parse(JSON.stringify(llmOutput)) as Record<string, unknown>;
    return Object.keys(copy).length > 0 ? copy : undefined;
  } catch {
    return undefined;
  }
}

/** How a hit's messages are rebuilt. */
export interface RestoreOptions {
  /** The message id to give each message; undefined lets LangChain assign `run-<runId>` as for any id-less reply. */
  id: string | undefined;
  /** Put `response_metadata.llmemo` on each message. */
  marker?: Record<string, unknown>;
  /** Zero `usage_metadata` (a hit spends no tokens); LangChain does this itself on the BaseCache path. */
  zeroUsage: boolean;
}

export const ZERO_USAGE = Object.freeze({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });

function isChunk(message: BaseMessage | undefined): boolean {
  // Duck-typed: the message may come from another copy of @langchain/core, so instanceof is not reliable.
  return typeof (message as { concat?: unknown } | undefined)?.concat === 'function';
}

export function storeGeneration(generation: Generation): StoredGenerationEntry {
  const entry: StoredGenerationEntry = serializeGeneration(generation);
  const info = generation.generationInfo;
  if (info && Object.keys(info).length > 0) entry.generationInfo = { ...info };
  if (isChunk((generation as { message?: BaseMessage }).message)) entry.chunk = true;
  return entry;
}

function corrupt(message: string): LlmemoError {
  return new LlmemoError('CORRUPT_ENTRY', `The cached entry is not LangChain generations: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Rebuilds one stored generation as a fresh object with fresh message instances. Throws CORRUPT_ENTRY. */
export function restoreGeneration(entry: unknown, options: RestoreOptions): Generation {
  if (!isRecord(entry) || typeof entry.text !== 'string') throw corrupt('a generation has no text.');
  const generation: Generation & { message?: BaseMessage } = { text: entry.text };
  if (entry.message !== undefined) {
    const stored = entry.message;
    if (!isRecord(stored) || typeof stored.type !== 'string' || !isRecord(stored.data)) {
      throw corrupt('a message is not a stored LangChain message.');
    }
    const data = copyOf(stored.data);
    const content = data.content;
    if (typeof content !== 'string' && !Array.isArray(content)) throw corrupt('a message has no content.');
    if (options.id === undefined) delete data.id;
    else data.id = options.id;
    const ai = stored.type === 'ai';
    if (ai && options.marker) {
      const metadata = isRecord(data.response_metadata) ? copyOf(data.response_metadata) : {};
      Object.assign(metadata, options.marker);
      data.response_metadata = metadata;
    }
    if (ai && options.zeroUsage && (data.usage_metadata !== undefined || entry.chunk !== true)) {
      data.usage_metadata = { ...ZERO_USAGE };
    }
    try {
      generation.message =
        ai && entry.chunk === true
          ? new AIMessageChunk(data as ConstructorParameters<typeof AIMessageChunk>[0] & object)
          : (deserializeStoredGeneration({
              text: entry.text,
              message: { type: stored.type, data } as unknown as StoredMessage,
            }).message as BaseMessage);
    } catch (error) {
      throw corrupt(error instanceof Error ? error.message : String(error));
    }
  }
  if (isRecord(entry.generationInfo)) generation.generationInfo = { ...entry.generationInfo };
  return generation;
}

/** Reads a generations body; throws CORRUPT_ENTRY for anything else, including an empty list. */
export function restoreGenerations(body: unknown, options: RestoreOptions): Generation[] {
  if (!isRecord(body) || !Array.isArray(body.generations) || body.generations.length === 0) {
    throw corrupt('expected a non-empty list of generations.');
  }
  return body.generations.map((entry) => restoreGeneration(entry, options));
}

interface UsageLike {
  input_tokens?: unknown;
  output_tokens?: unknown;
}

function usageOf(message: BaseMessage | undefined): UsageLike | undefined {
  return (message as { usage_metadata?: UsageLike } | undefined)?.usage_metadata;
}

/** Usage and reported model of a result, recorded with the entry so `cache.stats().tokensSaved` counts hits. */
export function entryMetadata(messages: readonly (BaseMessage | undefined)[]): EntryMetadata | undefined {
  const metadata: EntryMetadata = {};
  // One request: the first message carrying usage speaks for it (providers repeat the total on every choice).
  const usage = messages.map(usageOf).find((item) => item !== undefined);
  if (usage && (typeof usage.input_tokens === 'number' || typeof usage.output_tokens === 'number')) {
    metadata.usage = {};
    if (typeof usage.input_tokens === 'number') metadata.usage.inputTokens = usage.input_tokens;
    if (typeof usage.output_tokens === 'number') metadata.usage.outputTokens = usage.output_tokens;
  }
  for (const message of messages) {
    const meta = (message as { response_metadata?: Record<string, unknown> } | undefined)?.response_metadata;
    const model = meta?.model_name ?? meta?.model;
    if (typeof model === 'string') {
      metadata.responseModel = model;
      break;
    }
  }
  return metadata.usage || metadata.responseModel ? metadata : undefined;
}

/** Sums usage over stream chunks (each chunk carries its own delta, as AIMessageChunk.concat adds them). */
export function summedUsage(messages: readonly (BaseMessage | undefined)[]): UsageLike | undefined {
  let input: number | undefined;
  let output: number | undefined;
  for (const message of messages) {
    const usage = usageOf(message);
    if (typeof usage?.input_tokens === 'number') input = (input ?? 0) + usage.input_tokens;
    if (typeof usage?.output_tokens === 'number') output = (output ?? 0) + usage.output_tokens;
  }
  return input === undefined && output === undefined ? undefined : { input_tokens: input, output_tokens: output };
}
