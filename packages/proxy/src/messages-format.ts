import type { EntryMetadata } from '@llmemo/core';
import { isObject, type Json } from './context.js';

/**
 * The Anthropic Messages API's two wire forms (docs.anthropic.com, "Messages" and "Streaming Messages"): a
 * `message` object, or named SSE events `message_start`, `content_block_start` / `_delta` / `_stop` per block,
 * `message_delta` and `message_stop`, with `ping`s anywhere. Conversions follow how @anthropic-ai/sdk's
 * MessageStream assembles a message from events, so a converted answer reads the same to the SDK.
 */

/**
 * A cached message, kept in the form it arrived in (see ChatValue): the JSON body, or each event's name and
 * `data:` payload, byte for byte, with arrival offsets. `ping`s are kept and replayed where they came: they are
 * part of the stream the client saw, and clients ignore them.
 */
export type MessageValue =
  | { format: 'json'; body: Json; ms: number }
  | {
      format: 'sse';
      names: string[];
      events: string[];
      offsets: number[];
      ms: number;
      /** The message the events add up to, assembled once when recorded. */
      message: Json;
    };

/** Blocks whose `input` streams as `input_json_delta` (the SDK's tracksToolInput). */
const TOOL_INPUT_BLOCKS = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

export function messageMetadata(body: Json): EntryMetadata {
  const metadata: EntryMetadata = {};
  if (typeof body.model === 'string') metadata.responseModel = body.model;
  const usage = body.usage;
  if (isObject(usage)) {
    const tokens: NonNullable<EntryMetadata['usage']> = {};
    if (typeof usage.input_tokens === 'number') tokens.inputTokens = usage.input_tokens;
    if (typeof usage.output_tokens === 'number') tokens.outputTokens = usage.output_tokens;
    metadata.usage = tokens;
  }
  return metadata;
}

/**
 * `true` for a complete message; otherwise why it must not be cached. `refusal` is Claude's content filter (the
 * streaming classifiers stopped it): like OpenAI's `content_filter`, stored only with cacheContentFilter.
 */
export function checkMessage(body: Json, cacheContentFilter: boolean): true | string {
  if (body.type === 'error' || (body.error !== undefined && body.error !== null)) {
    return 'the upstream answer carries an error';
  }
  if (body.type !== 'message' || !Array.isArray(body.content)) return 'the upstream answer is not a message';
  if (typeof body.stop_reason !== 'string') return 'the message has no stop_reason';
  if (body.stop_reason === 'refusal' && !cacheContentFilter) {
    return 'the message was refused by the content filter (cacheContentFilter stores those)';
  }
  return true;
}

function parse(event: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(event);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The message a recorded stream adds up to, or why it must not be stored: it must start with `message_start`, end
 * with `message_stop`, carry no `error` event, and close every block it opened.
 */
export function recordedMessage(names: readonly string[], events: readonly string[]): Json | string {
  if (names.includes('error')) return 'the stream carried an error event';
  if (names[0] !== 'message_start') return 'the stream did not start with message_start';
  if (names.filter((name) => name !== 'ping').at(-1) !== 'message_stop') {
    return 'the stream ended without message_stop';
  }
  let open = 0;
  for (const name of names) {
    if (name === 'content_block_start') open++;
    else if (name === 'content_block_stop') open--;
  }
  if (open !== 0) return 'a content block was not closed';
  const message = eventsToMessage(names, events);
  if (message === undefined) return 'an event (or a tool input) is not JSON';
  return message;
}

/** Applies one `content_block_delta` to its block, as the SDK does. */
function applyDelta(block: Json, delta: Json, buffers: Map<Json, string>): void {
  switch (delta.type) {
    case 'text_delta':
      block.text = String(block.text ?? '') + String(delta.text ?? '');
      break;
    case 'citations_delta':
      block.citations = [...(Array.isArray(block.citations) ? block.citations : []), delta.citation];
      break;
    case 'thinking_delta':
      block.thinking = String(block.thinking ?? '') + String(delta.thinking ?? '');
      break;
    case 'signature_delta':
      block.signature = delta.signature;
      break;
    case 'input_json_delta':
      if (TOOL_INPUT_BLOCKS.has(String(block.type))) {
        buffers.set(block, (buffers.get(block) ?? '') + String(delta.partial_json ?? ''));
      }
      break;
  }
}

/** Applies `message_delta`: the stop fields, and the usage totals (cumulative: overwritten, never added). */
function applyMessageDelta(message: Json, event: Json): void {
  const delta = isObject(event.delta) ? event.delta : {};
  for (const [name, value] of Object.entries(delta)) {
    if (name === 'container' && (value === null || value === undefined)) continue;
    message[name] = value;
  }
  const usage = isObject(message.usage) ? message.usage : {};
  if (isObject(event.usage)) {
    for (const [name, value] of Object.entries(event.usage)) {
      if (value !== null && value !== undefined) usage[name] = value;
    }
  }
  message.usage = usage;
}

/** The `message` a stream's events add up to; undefined when an event (or a tool's input) is not JSON. */
export function eventsToMessage(names: readonly string[], events: readonly string[]): Json | undefined {
  let message: Json | undefined;
  const buffers = new Map<Json, string>();
  for (const [at, name] of names.entries()) {
    if (name === 'ping') continue;
    const event = parse(events[at]!);
    if (!event) return undefined;
    if (name === 'message_start') {
      message = isObject(event.message) ? structuredClone(event.message) : {};
      continue;
    }
    if (!message) continue;
    if (!Array.isArray(message.content)) message.content = [];
    const content = message.content as Json[];
    const index = typeof event.index === 'number' ? event.index : -1;
    if (name === 'content_block_start' && isObject(event.content_block)) {
      content.push(structuredClone(event.content_block));
    } else if (name === 'content_block_delta' && isObject(event.delta) && content[index]) {
      applyDelta(content[index]!, event.delta, buffers);
    } else if (name === 'content_block_stop' && content[index]) {
      const block = content[index]!;
      const json = buffers.get(block);
      if (json !== undefined && json !== '') {
        try {
          block.input = JSON.parse(json);
        } catch {
          return undefined;
        }
      }
    } else if (name === 'message_delta') {
      applyMessageDelta(message, event);
    }
  }
  return message;
}

/** One block's events, as the API streams it: the block opened empty, its content as one delta, then closed. */
function blockEvents(block: Json, index: number, emit: (name: string, data: Json) => void): void {
  const type = String(block.type);
  const delta = (value: Json) => emit('content_block_delta', { index, delta: value });
  if (type === 'text') {
    const { text, citations, ...rest } = block;
    const start: Json = { ...rest, text: '' };
    if (Array.isArray(citations)) start.citations = [];
    emit('content_block_start', { index, content_block: start });
    for (const citation of Array.isArray(citations) ? citations : []) delta({ type: 'citations_delta', citation });
    if (typeof text === 'string' && text !== '') delta({ type: 'text_delta', text });
  } else if (type === 'thinking') {
    const { thinking, signature, ...rest } = block;
    emit('content_block_start', { index, content_block: { ...rest, thinking: '', signature: '' } });
    if (typeof thinking === 'string' && thinking !== '') delta({ type: 'thinking_delta', thinking });
    if (typeof signature === 'string') delta({ type: 'signature_delta', signature });
  } else if (TOOL_INPUT_BLOCKS.has(type)) {
    const { input, ...rest } = block;
    emit('content_block_start', { index, content_block: { ...rest, input: {} } });
    const json = JSON.stringify(input ?? {});
    if (json !== '{}') delta({ type: 'input_json_delta', partial_json: json });
  } else {
    // Blocks that arrive whole (redacted_thinking, web_search_tool_result, …).
    emit('content_block_start', { index, content_block: block });
  }
  emit('content_block_stop', { index });
}

/**
 * The stream a message would have arrived as: `message_start` (the message with no content, no stop reason and
 * the input usage), a `ping`, each block, `message_delta` with the stop fields and the usage, `message_stop`.
 */
export function messageToEvents(message: Json): { names: string[]; events: string[] } {
  const names: string[] = [];
  const events: string[] = [];
  const emit = (name: string, data: Json) => {
    names.push(name);
    events.push(JSON.stringify({ type: name, ...data }));
  };
  const {
    content,
    stop_reason: stopReason = null,
    stop_sequence: stopSequence = null,
    stop_details: stopDetails,
    container,
    usage,
    ...rest
  } = message;
  const totals = isObject(usage) ? usage : {};
  const { output_tokens: outputTokens = 0, ...input } = totals;
  const start: Json = { ...rest, content: [], stop_reason: null, stop_sequence: null };
  if (isObject(usage)) start.usage = { ...input, output_tokens: Math.min(1, Number(outputTokens) || 0) };
  emit('message_start', { message: start });
  emit('ping', {});
  for (const [index, block] of (Array.isArray(content) ? content : []).entries()) {
    if (isObject(block)) blockEvents(block, index, emit);
  }
  const delta: Json = { stop_reason: stopReason, stop_sequence: stopSequence };
  if (stopDetails !== undefined) delta.stop_details = stopDetails;
  if (container !== undefined) delta.container = container;
  emit('message_delta', { delta, usage: { ...totals, output_tokens: outputTokens } });
  emit('message_stop', {});
  return { names, events };
}

/** The wire form of named events. */
export function namedBlocks(names: readonly string[], events: readonly string[]): string[] {
  return events.map((data, at) => (names[at] ? `event: ${names[at]}\ndata: ${data}\n\n` : `data: ${data}\n\n`));
}

/** Anthropic's in-band failure: an `error` event (the SDK raises it as an APIError). */
export function anthropicErrorEvent(message: string): string {
  const data = { type: 'error', error: { type: 'api_error', message } };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}
