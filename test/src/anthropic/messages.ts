// The Anthropic Messages API's wire format (POST /v1/messages), JSON and SSE, as documented and as
// @anthropic-ai/sdk and @ai-sdk/anthropic parse it: content blocks `thinking` (with `signature`), `text` and
// `tool_use`; stream events message_start, content_block_start/delta/stop (`thinking_delta`, `signature_delta`,
// `text_delta`, `input_json_delta`), message_delta and message_stop, with `ping`s in between.
import type { SseEvent } from '../openai/sse.js';
import { countTokens, nextId, splitWords } from '../openai/text.js';
import type { RecordedRequest } from '../openai/types.js';

export interface AnthropicToolCall {
  readonly name: string;
  readonly input: Record<string, unknown>;
  /** Generated (`toolu_…`) when omitted. */
  readonly id?: string;
}

/** How the fake answers one Messages request. Every field is optional. */
export interface AnthropicReply {
  readonly text?: string;
  /** How the text is streamed; they join to the text. */
  readonly chunks?: readonly string[];
  /** Extended thinking: a `thinking` block before the text, signed with `signature`. */
  readonly thinking?: string;
  readonly signature?: string;
  readonly toolCalls?: readonly AnthropicToolCall[];
  readonly stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';
  readonly usage?: {
    readonly inputTokens?: number;
    readonly outputTokens?: number;
    readonly cacheCreationInputTokens?: number;
    readonly cacheReadInputTokens?: number;
  };
  /** The model id reported; defaults to the requested one. */
  readonly model?: string;
  /**
   * Streams only: after `message_start` and the first block, an `error` event (e.g. 'overloaded_error') ends the
   * stream with a 200, as the API reports a failure mid-stream.
   */
  readonly streamError?: string;
}

type Block = Record<string, unknown>;

/** What a responder sees of a Messages request. */
export interface AnthropicRequest extends RecordedRequest {
  readonly model: string;
  readonly stream: boolean;
  readonly messages: readonly { role: string; content: string | readonly Block[] }[];
  /** Text of the last user message's text blocks ('' if none). */
  readonly lastUserText: string;
  /** `tool_result` blocks sent back, in order. */
  readonly toolResults: readonly { toolUseId: string; content: unknown }[];
  readonly toolNames: readonly string[];
  /** True when `thinking: { type: 'enabled' }` was requested. */
  readonly thinking: boolean;
}

function blocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as Block[]) : [];
}

export function viewOf(recorded: RecordedRequest): AnthropicRequest {
  const body = recorded.body as Record<string, unknown>;
  const messages = (body.messages as AnthropicRequest['messages']) ?? [];
  const lastUser = [...messages].reverse().find((message) => message.role === 'user');
  const lastUserText = blocks(lastUser?.content)
    .filter((block) => block.type === 'text')
    .map((block) => String(block.text))
    .join('\n');
  const toolResults = messages.flatMap((message) =>
    blocks(message.content)
      .filter((block) => block.type === 'tool_result')
      .map((block) => ({ toolUseId: String(block.tool_use_id), content: block.content })),
  );
  const tools = Array.isArray(body.tools) ? (body.tools as Block[]) : [];
  return {
    ...recorded,
    model: String(body.model),
    stream: body.stream === true,
    messages,
    lastUserText,
    toolResults,
    toolNames: tools.map((tool) => String(tool.name)),
    thinking: (body.thinking as Block | undefined)?.type === 'enabled',
  };
}

interface Resolved {
  streamError?: string;
  id: string;
  model: string;
  content: Block[];
  chunks: string[];
  stopReason: string;
  usage: Record<string, number>;
}

export function resolve(reply: AnthropicReply, request: AnthropicRequest): Resolved {
  const toolCalls = reply.toolCalls ?? [];
  const text = reply.chunks?.join('') ?? reply.text ?? (toolCalls.length > 0 ? '' : `Echo: ${request.lastUserText}`);
  const content: Block[] = [];
  if (reply.thinking !== undefined) {
    content.push({ type: 'thinking', thinking: reply.thinking, signature: reply.signature ?? `sig-${nextId('')}` });
  }
  if (text !== '') content.push({ type: 'text', text });
  for (const call of toolCalls) {
    content.push({ type: 'tool_use', id: call.id ?? nextId('toolu_'), name: call.name, input: call.input });
  }
  const inputTokens =
    reply.usage?.inputTokens ?? request.messages.reduce((sum, m) => sum + countTokens(JSON.stringify(m.content)), 0);
  return {
    ...(reply.streamError !== undefined && { streamError: reply.streamError }),
    id: nextId('msg_'),
    model: reply.model ?? request.model,
    content,
    chunks: reply.chunks ? [...reply.chunks] : splitWords(text),
    stopReason: reply.stopReason ?? (toolCalls.length > 0 ? 'tool_use' : 'end_turn'),
    usage: {
      input_tokens: inputTokens,
      output_tokens: reply.usage?.outputTokens ?? countTokens(text) + countTokens(reply.thinking ?? '') + 1,
      cache_creation_input_tokens: reply.usage?.cacheCreationInputTokens ?? 0,
      cache_read_input_tokens: reply.usage?.cacheReadInputTokens ?? 0,
    },
  };
}

export function messageBody(resolved: Resolved): Record<string, unknown> {
  return {
    id: resolved.id,
    type: 'message',
    role: 'assistant',
    model: resolved.model,
    content: resolved.content,
    stop_reason: resolved.stopReason,
    stop_sequence: null,
    usage: resolved.usage,
  };
}

const event = (type: string, data: Record<string, unknown>): SseEvent => ({ event: type, data: { type, ...data } });

/** A content block's stream events, its deltas split the way the API splits them. */
function blockEvents(block: Block, index: number, textChunks: readonly string[]): SseEvent[] {
  const delta = (value: Record<string, unknown>) => event('content_block_delta', { index, delta: value });
  const out: SseEvent[] = [];
  if (block.type === 'thinking') {
    out.push(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    for (const piece of splitWords(String(block.thinking)))
      out.push(delta({ type: 'thinking_delta', thinking: piece }));
    out.push(delta({ type: 'signature_delta', signature: block.signature }));
  } else if (block.type === 'text') {
    out.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    for (const piece of textChunks) out.push(delta({ type: 'text_delta', text: piece }));
  } else {
    out.push(
      event('content_block_start', {
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      }),
    );
    const json = JSON.stringify(block.input);
    out.push(delta({ type: 'input_json_delta', partial_json: '' }));
    for (const piece of json.match(/[\s\S]{1,8}/g) ?? [])
      out.push(delta({ type: 'input_json_delta', partial_json: piece }));
  }
  out.push(event('content_block_stop', { index }));
  return out;
}

export function messageEvents(resolved: Resolved): SseEvent[] {
  const { output_tokens, ...input } = resolved.usage;
  const events: SseEvent[] = [
    event('message_start', {
      message: { ...messageBody(resolved), content: [], stop_reason: null, usage: { ...input, output_tokens: 1 } },
    }),
    event('ping', {}),
  ];
  resolved.content.forEach((block, index) => {
    events.push(...blockEvents(block, index, resolved.chunks));
  });
  if (resolved.streamError !== undefined) {
    events.splice(
      events.findIndex((item) => item.event === 'content_block_stop') + 1,
      Number.POSITIVE_INFINITY,
      event('error', { error: { type: resolved.streamError, message: 'Overloaded' } }),
    );
    return events;
  }
  events.push(
    event('message_delta', {
      delta: { stop_reason: resolved.stopReason, stop_sequence: null },
      usage: { output_tokens },
    }),
    event('message_stop', {}),
  );
  return events;
}
