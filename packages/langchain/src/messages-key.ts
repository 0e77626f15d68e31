import type { BaseMessage } from '@langchain/core/messages';

/**
 * The part of each message that reaches the provider, as plain data for the cache key. Unlike the `prompt` string
 * LangChain hands a BaseCache (where every image is the text "[image]" and a tool result loses its tool_call_id),
 * this keeps whole content blocks: core hashes image and file bytes however they are encoded (base64, data URL),
 * so two prompts with the same text and different images never share an entry.
 *
 * Left out: message ids, response_metadata and usage_metadata (they describe a past reply, not the request) and a
 * ToolMessage's artifact (kept client-side, never sent).
 */
export function messagesKey(messages: readonly BaseMessage[]): unknown[] {
  return messages.map(messageKey);
}

function messageKey(message: BaseMessage): Record<string, unknown> {
  const m = message as BaseMessage & {
    role?: unknown;
    tool_calls?: { name: string; args: unknown; id?: string }[];
    invalid_tool_calls?: unknown[];
    tool_call_id?: unknown;
    status?: unknown;
  };
  const key: Record<string, unknown> = { type: m.type ?? m.getType(), content: m.content };
  if (m.name !== undefined) key.name = m.name;
  if (typeof m.role === 'string') key.role = m.role;
  if (m.tool_calls?.length) {
    key.tool_calls = m.tool_calls.map(({ name, args, id }) => ({ name, args, id }));
  }
  if (m.invalid_tool_calls?.length) key.invalid_tool_calls = m.invalid_tool_calls;
  if (m.tool_call_id !== undefined) key.tool_call_id = m.tool_call_id;
  if (m.status !== undefined) key.status = m.status;
  const extra = m.additional_kwargs;
  if (extra && Object.keys(extra).length > 0) key.additional_kwargs = extra;
  return key;
}
