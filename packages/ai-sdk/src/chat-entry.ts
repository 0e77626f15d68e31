import { type EntryMetadata, type ToolCallPolicy, toolCallVerdict } from '@llmemo/core';
import {
  type CallOptions,
  type Content,
  type FinishReason,
  type GenerateResult,
  type ProviderMetadata,
  type StreamPart,
  tokenUsage,
  type Usage,
  unifiedFinishReason,
  type Warning,
} from './spec.js';

/** Bumped when the stored body's shape changes; a body of another format is recomputed, never misread. */
export const ENTRY_FORMAT = 1;

/**
 * What a generate call stores: what `generateText` needs to rebuild its result, and nothing else. Not
 * `request.body`/`response.body` (large, and they repeat the prompt) nor `response.headers` (request ids, rate
 * limits and cookies of one HTTP exchange, which would be stale or misleading on a hit).
 */
export interface StoredGenerate {
  content: Content[];
  finishReason: FinishReason;
  usage: Usage;
  providerMetadata?: ProviderMetadata;
  response?: { id?: string; timestamp?: Date; modelId?: string };
  warnings: Warning[];
  /** V4 only. */
  structuredOutputText?: string;
}

/** One cached language-model answer: a generate result, or a recorded stream with each part's time offset. */
export type ChatEntry =
  | { format: typeof ENTRY_FORMAT; type: 'generate'; result: StoredGenerate }
  | {
      format: typeof ENTRY_FORMAT;
      type: 'stream';
      parts: StreamPart[];
      /** Milliseconds from the start of the call to each part, for `replay: 'recorded'`. */
      at: number[];
    };

export function isChatEntry(value: unknown): value is ChatEntry {
  if (value === null || typeof value !== 'object') return false;
  const entry = value as Partial<Record<string, unknown>>;
  if (entry.format !== ENTRY_FORMAT) return false;
  if (entry.type === 'generate') return entry.result !== null && typeof entry.result === 'object';
  return entry.type === 'stream' && Array.isArray(entry.parts) && Array.isArray(entry.at);
}

export function storeGenerate(result: GenerateResult): ChatEntry {
  const stored: StoredGenerate = {
    content: result.content,
    finishReason: result.finishReason,
    usage: result.usage,
    warnings: result.warnings,
  };
  if (result.providerMetadata !== undefined) stored.providerMetadata = result.providerMetadata;
  const response = result.response;
  if (response) {
    const kept: NonNullable<StoredGenerate['response']> = {};
    if (response.id !== undefined) kept.id = response.id;
    if (response.timestamp !== undefined) kept.timestamp = response.timestamp;
    if (response.modelId !== undefined) kept.modelId = response.modelId;
    stored.response = kept;
  }
  const structured = (result as { structuredOutputText?: string }).structuredOutputText;
  if (structured !== undefined) stored.structuredOutputText = structured;
  return { format: ENTRY_FORMAT, type: 'generate', result: stored };
}

type TextLike = { type: 'text' | 'reasoning'; text: string; providerMetadata?: ProviderMetadata; citations?: unknown };

/**
 * Folds stream parts into a generate result, the way the AI SDK builds a step's content from a stream: a text or
 * reasoning block starts at its `-start` part, collects its deltas, and takes the latest providerMetadata; other
 * content parts (tool calls and results, files, sources, approvals, custom) are content as they are;
 * `tool-input-*` parts are dropped because the `tool-call` part carries the whole input.
 */
export function foldStream(parts: readonly StreamPart[]): StoredGenerate {
  const fold = new StreamFold();
  for (const part of parts) fold.add(part);
  return fold.result();
}

type TextPart = Extract<
  StreamPart,
  { type: 'text-start' | 'text-delta' | 'text-end' | 'reasoning-start' | 'reasoning-delta' | 'reasoning-end' }
>;

/** The state of `foldStream`: content so far, the text and reasoning blocks still open, and the stream's metadata. */
class StreamFold {
  private readonly content: Content[] = [];
  private readonly open = new Map<string, TextLike>();
  private warnings: Warning[] = [];
  private response: StoredGenerate['response'];
  private finish: Extract<StreamPart, { type: 'finish' }> | undefined;

  add(part: StreamPart): void {
    switch (part.type) {
      case 'stream-start':
        this.warnings = part.warnings as Warning[];
        break;
      case 'response-metadata': {
        const { type: _type, ...metadata } = part;
        this.response = metadata;
        break;
      }
      case 'text-start':
      case 'reasoning-start':
      case 'text-delta':
      case 'reasoning-delta':
      case 'text-end':
      case 'reasoning-end':
        this.addText(part);
        break;
      case 'finish':
        this.finish = part;
        break;
      case 'tool-input-start':
      case 'tool-input-delta':
      case 'tool-input-end':
      case 'raw':
      case 'error':
        break;
      default:
        if ((part as { type: string }).type !== 'ping') this.content.push(part as Content);
    }
  }

  result(): StoredGenerate {
    const { finish } = this;
    const stored: StoredGenerate = {
      content: this.content,
      finishReason: finish?.finishReason ?? { unified: 'other', raw: undefined },
      usage: finish?.usage as Usage,
      warnings: this.warnings,
    };
    if (finish?.providerMetadata !== undefined) stored.providerMetadata = finish.providerMetadata as ProviderMetadata;
    if (this.response !== undefined) stored.response = this.response;
    return stored;
  }

  /** A text or reasoning part: opens, extends or closes its block. */
  private addText(part: TextPart): void {
    const type = part.type.startsWith('text-') ? 'text' : 'reasoning';
    const item = this.block(type, part.id, part.providerMetadata);
    if (part.type === 'text-delta' || part.type === 'reasoning-delta') item.text += part.delta;
    else if (part.type === 'text-end' || part.type === 'reasoning-end') {
      const citations = (part as { citations?: unknown }).citations;
      if (citations != null) item.citations = citations;
      this.open.delete(`${type}:${part.id}`);
    }
  }

  /** The open block of this type and id (a new one, in content order, when none is open). */
  private block(type: 'text' | 'reasoning', id: string, providerMetadata: unknown): TextLike {
    const key = `${type}:${id}`;
    let item = this.open.get(key);
    if (!item) {
      item = { type, text: '' };
      this.content.push(item as Content);
      this.open.set(key, item);
    }
    if (providerMetadata != null) item.providerMetadata = providerMetadata as ProviderMetadata;
    return item;
  }
}

/**
 * Turns a generate result into the parts a stream of it would have had (as the AI SDK's
 * simulateStreamingMiddleware does): stream-start, response-metadata, one start/delta/end triple per text or
 * reasoning block, the other content as is, and finish.
 */
export function generateToParts(result: StoredGenerate): StreamPart[] {
  const parts: Record<string, unknown>[] = [{ type: 'stream-start', warnings: result.warnings }];
  if (result.response) parts.push({ type: 'response-metadata', ...result.response });
  let id = 0;
  for (const item of result.content) {
    if (item.type === 'text' || item.type === 'reasoning') {
      const block = String(id++);
      const start: Record<string, unknown> = { type: `${item.type}-start`, id: block };
      if (item.providerMetadata !== undefined) start.providerMetadata = item.providerMetadata;
      const end: Record<string, unknown> = { type: `${item.type}-end`, id: block };
      const citations = (item as { citations?: unknown }).citations;
      if (citations != null) end.citations = citations;
      parts.push(start, { type: `${item.type}-delta`, id: block, delta: item.text }, end);
    } else {
      parts.push(item as Record<string, unknown>);
    }
  }
  const finish: Record<string, unknown> = { type: 'finish', finishReason: result.finishReason, usage: result.usage };
  if (result.providerMetadata !== undefined) finish.providerMetadata = result.providerMetadata;
  parts.push(finish);
  return parts as StreamPart[];
}

/** The generate result an entry answers with (a recorded stream is folded). */
export function entryToGenerate(entry: ChatEntry): StoredGenerate {
  return entry.type === 'generate' ? entry.result : foldStream(entry.parts);
}

/** The parts and their offsets an entry replays (a generate result is converted and has no timing). */
export function entryToParts(entry: ChatEntry): { parts: StreamPart[]; at: number[] | undefined } {
  return entry.type === 'stream'
    ? { parts: entry.parts, at: entry.at }
    : { parts: generateToParts(entry.result), at: undefined };
}

/** Finish reasons that mean the answer is not a complete, successful one. */
const REFUSED_FINISH = new Set(['error', 'interrupted']);

function outputText(result: StoredGenerate): string {
  if (result.structuredOutputText !== undefined) return result.structuredOutputText;
  let text = '';
  for (const item of result.content) if (item.type === 'text') text += item.text;
  return text;
}

/**
 * Whether an answer may be stored: `true`, or the reason it may not. Refused: a finish reason of `error` (or V4
 * `interrupted`), an answer with no content, and — when JSON output was requested and the model did not stop to
 * call tools — text that is not valid JSON (vercel/ai#9594: the docs recipe caches it and replays the failure).
 */
export function chatVerdict(result: StoredGenerate, params: CallOptions): true | string {
  const finish = unifiedFinishReason(result.finishReason);
  if (finish !== undefined && REFUSED_FINISH.has(finish)) {
    return `The model call finished with reason '${finish}'; only complete, successful answers are cached.`;
  }
  if (result.content.length === 0) return 'The model returned no content; an empty answer is not cached.';
  if (params.responseFormat?.type === 'json' && finish !== 'tool-calls') {
    try {
      JSON.parse(outputText(result));
    } catch {
      return 'JSON output was requested (responseFormat json) but the text is not valid JSON; it was not cached.';
    }
  }
  return true;
}

/**
 * `chatVerdict`, then the `storeToolCalls` policy over the tools the answer asks the app to run. A tool the provider
 * ran itself (`providerExecuted`) is not run again by a replay, so it does not count.
 */
export function storeVerdict(result: StoredGenerate, params: CallOptions, tools: ToolCallPolicy): true | string {
  const verdict = chatVerdict(result, params);
  if (verdict !== true || tools === true) return verdict;
  const names = result.content.flatMap((part) => {
    const call = part as { type: string; toolName?: unknown; providerExecuted?: unknown };
    return call.type === 'tool-call' && call.providerExecuted !== true ? [String(call.toolName)] : [];
  });
  return toolCallVerdict(tools, names);
}

/** The usage and reported model id stored with an entry (for `cache.stats().tokensSaved` and tools). */
export function chatMetadata(result: StoredGenerate): EntryMetadata {
  const metadata: EntryMetadata = {};
  const usage = tokenUsage(result.usage);
  if (usage) metadata.usage = usage;
  if (result.response?.modelId !== undefined) metadata.responseModel = result.response.modelId;
  return metadata;
}
