import { sampleFromSchema } from './schema-sample.js';
import { countTokens, nextId, splitWords } from './text.js';
import type { ReplyRequest, ScriptedError, ScriptedReply } from './types.js';

export type FinishReason = NonNullable<ScriptedReply['finishReason']>;

export interface ResolvedToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
  /** Argument fragments as streamed; they join to `arguments`. */
  readonly argumentChunks: readonly string[];
}

export interface ResolvedUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly reasoningTokens: number;
  readonly cachedTokens: number;
}

/** A reply with every field decided, ready to be rendered by either text endpoint. */
export interface ResolvedReply {
  readonly kind: 'reply';
  readonly model: string;
  readonly text: string;
  readonly chunks: readonly string[];
  readonly reasoning: string;
  readonly reasoningChunks: readonly string[];
  readonly toolCalls: readonly ResolvedToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: ResolvedUsage;
  readonly streamUsage: boolean;
  readonly headers: Readonly<Record<string, string>> | undefined;
}

export interface ResolvedError {
  readonly kind: 'error';
  readonly status: number;
  readonly error: ScriptedError;
  readonly headers: Readonly<Record<string, string>> | undefined;
}

/** The reply a request gets when nothing is scripted: an echo, or a schema-shaped object when JSON was asked for. */
export function defaultText(request: ReplyRequest): string {
  const echo = `Echo: ${request.lastUserText}`;
  if (!request.wantsJson) return echo;
  return JSON.stringify(
    request.jsonSchema ? sampleFromSchema(request.jsonSchema, echo) : { echo: request.lastUserText },
  );
}

/** Splits tool arguments into short fragments, as OpenAI streams them a few characters at a time. */
function argumentFragments(text: string): string[] {
  return text.match(/[\s\S]{1,6}/g) ?? [];
}

function resolveText(reply: ScriptedReply, request: ReplyRequest): { text: string; chunks: string[] } {
  if (reply.chunks) return { text: reply.chunks.join(''), chunks: [...reply.chunks] };
  let text: string;
  if (reply.text !== undefined) text = reply.text;
  else if (reply.json !== undefined) text = JSON.stringify(reply.json);
  // A tool-calling turn carries no text unless the script says so, like the real models.
  else if (reply.toolCalls?.length) text = '';
  else text = defaultText(request);
  return { text, chunks: splitWords(text) };
}

export function resolveReply(reply: ScriptedReply, request: ReplyRequest): ResolvedReply | ResolvedError {
  if (reply.status !== undefined && reply.status >= 400) {
    const error = typeof reply.error === 'string' ? { message: reply.error } : (reply.error ?? {});
    return { kind: 'error', status: reply.status, error, headers: reply.headers };
  }
  const { text, chunks } = resolveText(reply, request);
  const reasoning = reply.reasoning ?? '';
  const toolCalls = (reply.toolCalls ?? []).map((call): ResolvedToolCall => {
    const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
    return {
      id: call.id ?? nextId('call_'),
      name: call.name,
      arguments: args,
      argumentChunks: argumentFragments(args),
    };
  });
  const reasoningTokens = reply.usage?.reasoningTokens ?? countTokens(reasoning);
  const toolTokens = toolCalls.reduce((sum, call) => sum + countTokens(call.name) + countTokens(call.arguments), 0);
  return {
    kind: 'reply',
    model: reply.model ?? request.model,
    text,
    chunks,
    reasoning,
    reasoningChunks: splitWords(reasoning),
    toolCalls,
    finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: {
      inputTokens: reply.usage?.inputTokens ?? request.messages.reduce((sum, m) => sum + countTokens(m.text), 0),
      outputTokens: reply.usage?.outputTokens ?? countTokens(text) + reasoningTokens + toolTokens,
      reasoningTokens,
      cachedTokens: reply.usage?.cachedTokens ?? 0,
    },
    streamUsage: reply.streamUsage !== false,
    headers: reply.headers,
  };
}
