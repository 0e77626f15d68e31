import type { ChatModelStreamEvent } from '@langchain/core/language_models/event';
import { type ToolCallPolicy, toolCallVerdict } from '@llmemo/core';

interface ToolCallingMessage {
  tool_calls?: { name?: unknown }[];
  tool_call_chunks?: { name?: unknown }[];
}

function named(calls: { name?: unknown }[] | undefined): string[] {
  if (!Array.isArray(calls)) return [];
  return calls.flatMap((call) => (typeof call?.name === 'string' && call.name !== '' ? [call.name] : []));
}

/**
 * The tools an answer asks the app to run, from its messages: `tool_calls`, and on stream chunks the
 * `tool_call_chunks` (a call's name arrives on its first chunk only).
 */
export function messageToolNames(messages: readonly unknown[]): string[] {
  return messages.flatMap((message) => {
    const m = (message ?? {}) as ToolCallingMessage;
    return [...named(m.tool_calls), ...named(m.tool_call_chunks)];
  });
}

/**
 * The tools a content-block event stream asks the app to run. `server_tool_call` blocks are run by the provider,
 * and a replay does not run them again, so they do not count.
 */
export function eventToolNames(events: readonly ChatModelStreamEvent[]): string[] {
  return events.flatMap((event) => {
    if (event.event !== 'content-block-start' && event.event !== 'content-block-finish') return [];
    const block = event.content as { type?: string; name?: unknown };
    const client = block.type === 'tool_call' || block.type === 'tool_call_chunk';
    return client && typeof block.name === 'string' && block.name !== '' ? [block.name] : [];
  });
}

/** The `storeToolCalls` verdict over some tool names (true: store). */
export function toolVerdict(policy: ToolCallPolicy, names: () => string[]): true | string {
  return policy === true ? true : toolCallVerdict(policy, names());
}
