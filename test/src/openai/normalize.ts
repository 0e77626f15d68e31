import type { NormalizedMessage, RecordedRequest, ReplyRequest } from './types.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a content value: a string, or an array of parts of which only the text-bearing ones count. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => {
      if (typeof part === 'string') return part;
      if (isObject(part) && typeof part.text === 'string') return part.text;
      return '';
    })
    .join('');
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
}

function lastUserText(messages: readonly NormalizedMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role === 'user') return message.text;
  }
  return '';
}

function toolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((tool) => {
    if (!isObject(tool)) return [];
    // Chat nests the function ({ type, function: { name } }); the Responses API flattens it ({ type, name }).
    const name = isObject(tool.function) ? tool.function.name : tool.name;
    return typeof name === 'string' ? [name] : [];
  });
}

function structuredOutput(format: unknown): { jsonSchema: Json | undefined; wantsJson: boolean } {
  if (!isObject(format)) return { jsonSchema: undefined, wantsJson: false };
  if (format.type === 'json_object') return { jsonSchema: undefined, wantsJson: true };
  if (format.type !== 'json_schema') return { jsonSchema: undefined, wantsJson: false };
  // Chat: { type, json_schema: { name, schema } }. Responses: { type, name, schema }.
  const holder = isObject(format.json_schema) ? format.json_schema : format;
  return { jsonSchema: isObject(holder.schema) ? holder.schema : {}, wantsJson: true };
}

export function normalizeChatRequest(recorded: RecordedRequest): ReplyRequest {
  const body = isObject(recorded.body) ? recorded.body : {};
  const messages: NormalizedMessage[] = [];
  const toolResults: { callId: string; output: string }[] = [];
  for (const message of Array.isArray(body.messages) ? body.messages : []) {
    if (!isObject(message)) continue;
    const role = typeof message.role === 'string' ? message.role : 'user';
    const text = contentText(message.content);
    messages.push({ role, text });
    if (role === 'tool') toolResults.push({ callId: String(message.tool_call_id ?? ''), output: text });
  }
  return {
    ...recorded,
    endpoint: 'chat.completions',
    model: typeof body.model === 'string' ? body.model : '',
    stream: body.stream === true,
    messages,
    lastUserText: lastUserText(messages),
    toolResults,
    toolNames: toolNames(body.tools),
    ...structuredOutput(body.response_format),
  };
}

export function normalizeResponsesRequest(recorded: RecordedRequest): ReplyRequest {
  const body = isObject(recorded.body) ? recorded.body : {};
  const messages: NormalizedMessage[] = [];
  const toolResults: { callId: string; output: string }[] = [];
  if (typeof body.instructions === 'string') messages.push({ role: 'system', text: body.instructions });
  const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input;
  for (const item of Array.isArray(input) ? input : []) {
    if (!isObject(item)) continue;
    if (item.type === 'function_call_output') {
      const output = stringify(item.output);
      toolResults.push({ callId: String(item.call_id ?? ''), output });
      messages.push({ role: 'tool', text: output });
    } else if (typeof item.role === 'string' && (item.type === undefined || item.type === 'message')) {
      messages.push({ role: item.role, text: contentText(item.content) });
    }
  }
  const format = isObject(body.text) ? body.text.format : undefined;
  return {
    ...recorded,
    endpoint: 'responses',
    model: typeof body.model === 'string' ? body.model : '',
    stream: body.stream === true,
    messages,
    lastUserText: lastUserText(messages),
    toolResults,
    toolNames: toolNames(body.tools),
    ...structuredOutput(format),
  };
}
