import type { ResolvedReply } from './script.js';
import type { SseEvent } from './sse.js';
import { nextId, nowSeconds } from './text.js';
import type { ReplyRequest } from './types.js';

type Json = Record<string, unknown>;

function usageOf(reply: ResolvedReply) {
  const { inputTokens, outputTokens, reasoningTokens, cachedTokens } = reply.usage;
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: cachedTokens },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: inputTokens + outputTokens,
  };
}

/** chat's finish_reason in Responses terms: only length and content_filter end a response 'incomplete'. */
function completion(reply: ResolvedReply): { status: 'completed' | 'incomplete'; incomplete_details: Json | null } {
  if (reply.finishReason === 'length')
    return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (reply.finishReason === 'content_filter')
    return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** The output items with their ids fixed up front, so the stream and its final snapshot agree. */
interface Items {
  readonly reasoning: { id: string; text: string; chunks: readonly string[] } | undefined;
  readonly message: { id: string; text: string; chunks: readonly string[] } | undefined;
  readonly calls: readonly { id: string; callId: string; name: string; args: string; chunks: readonly string[] }[];
}

function itemsOf(reply: ResolvedReply): Items {
  return {
    reasoning:
      reply.reasoning === '' ? undefined : { id: nextId('rs_'), text: reply.reasoning, chunks: reply.reasoningChunks },
    // A tool-only turn has no message item at all, as with the real API.
    message:
      reply.text === '' && reply.toolCalls.length > 0
        ? undefined
        : { id: nextId('msg_'), text: reply.text, chunks: reply.chunks },
    calls: reply.toolCalls.map((call) => ({
      id: nextId('fc_'),
      callId: call.id,
      name: call.name,
      args: call.arguments,
      chunks: call.argumentChunks,
    })),
  };
}

const outputText = (text: string) => ({ type: 'output_text', annotations: [], logprobs: [], text });
const summaryText = (text: string) => ({ type: 'summary_text', text });

function reasoningItem(item: NonNullable<Items['reasoning']>, done: boolean): Json {
  return { id: item.id, type: 'reasoning', summary: done ? [summaryText(item.text)] : [] };
}

function messageItem(item: NonNullable<Items['message']>, done: boolean): Json {
  return {
    id: item.id,
    type: 'message',
    status: done ? 'completed' : 'in_progress',
    content: done ? [outputText(item.text)] : [],
    role: 'assistant',
  };
}

function callItem(call: Items['calls'][number], done: boolean): Json {
  return {
    id: call.id,
    type: 'function_call',
    status: done ? 'completed' : 'in_progress',
    arguments: done ? call.args : '',
    call_id: call.callId,
    name: call.name,
  };
}

function finalOutput(items: Items): Json[] {
  return [
    ...(items.reasoning ? [reasoningItem(items.reasoning, true)] : []),
    ...(items.message ? [messageItem(items.message, true)] : []),
    ...items.calls.map((call) => callItem(call, true)),
  ];
}

/** The request settings a real response echoes back. */
function responseShell(request: ReplyRequest, reply: ResolvedReply, id: string, createdAt: number): Json {
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Json;
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: reply.model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null, ...(body.reasoning as Json | undefined) },
    service_tier: 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    user: null,
    metadata: body.metadata ?? {},
  };
}

/** A `response` object as POST /v1/responses returns it without `stream`. */
export function responseObject(reply: ResolvedReply, request: ReplyRequest): Json {
  return {
    ...responseShell(request, reply, nextId('resp_'), nowSeconds()),
    ...completion(reply),
    output: finalOutput(itemsOf(reply)),
    usage: usageOf(reply),
  };
}

/**
 * The named events of a streamed response, in the order the real API sends them: created, in_progress, then per
 * output item added / part added / deltas / done, and a final completed (or incomplete) snapshot with usage.
 */
export function responseEvents(reply: ResolvedReply, request: ReplyRequest): SseEvent[] {
  const items = itemsOf(reply);
  const shell = responseShell(request, reply, nextId('resp_'), nowSeconds());
  const events: SseEvent[] = [];
  const emit = (type: string, fields: Json) =>
    events.push({ event: type, data: { type, sequence_number: events.length, ...fields } });

  emit('response.created', { response: shell });
  emit('response.in_progress', { response: shell });
  let outputIndex = 0;

  if (items.reasoning) {
    const item = items.reasoning;
    const at = { item_id: item.id, output_index: outputIndex, summary_index: 0 };
    emit('response.output_item.added', { output_index: outputIndex, item: reasoningItem(item, false) });
    emit('response.reasoning_summary_part.added', { ...at, part: summaryText('') });
    for (const delta of item.chunks) emit('response.reasoning_summary_text.delta', { ...at, delta });
    emit('response.reasoning_summary_text.done', { ...at, text: item.text });
    emit('response.reasoning_summary_part.done', { ...at, part: summaryText(item.text) });
    emit('response.output_item.done', { output_index: outputIndex, item: reasoningItem(item, true) });
    outputIndex += 1;
  }

  if (items.message) {
    const item = items.message;
    const at = { item_id: item.id, output_index: outputIndex, content_index: 0 };
    emit('response.output_item.added', { output_index: outputIndex, item: messageItem(item, false) });
    emit('response.content_part.added', { ...at, part: outputText('') });
    for (const delta of item.chunks) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
    emit('response.output_text.done', { ...at, text: item.text, logprobs: [] });
    emit('response.content_part.done', { ...at, part: outputText(item.text) });
    emit('response.output_item.done', { output_index: outputIndex, item: messageItem(item, true) });
    outputIndex += 1;
  }

  for (const call of items.calls) {
    const at = { item_id: call.id, output_index: outputIndex };
    emit('response.output_item.added', { output_index: outputIndex, item: callItem(call, false) });
    for (const delta of call.chunks) emit('response.function_call_arguments.delta', { ...at, delta });
    emit('response.function_call_arguments.done', { ...at, name: call.name, arguments: call.args });
    emit('response.output_item.done', { output_index: outputIndex, item: callItem(call, true) });
    outputIndex += 1;
  }

  const { status } = completion(reply);
  emit(status === 'completed' ? 'response.completed' : 'response.incomplete', {
    response: { ...shell, ...completion(reply), output: finalOutput(items), usage: usageOf(reply) },
  });
  return events;
}
