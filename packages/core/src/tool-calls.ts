import { LlmemoError } from './errors.js';

/**
 * The adapters' `storeToolCalls` option: `true` (default) stores answers that ask for tool calls like any other;
 * `false` stores none of them; a list of tool names stores none that calls one of those tools (the ones with side
 * effects). A replayed answer that asks for a tool call makes the app run that tool again.
 */
export type StoreToolCalls = boolean | readonly string[];

/** `storeToolCalls` validated: store all, store none, or the tool names whose calls are never stored. */
export type ToolCallPolicy = boolean | ReadonlySet<string>;

/** Validates `storeToolCalls` (INVALID_OPTIONS naming `source` otherwise). */
export function resolveStoreToolCalls(value: unknown, source: string): ToolCallPolicy {
  if (value === undefined) return true;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((name) => typeof name === 'string' && name !== '')) {
    return new Set(value as string[]);
  }
  throw new LlmemoError(
    'INVALID_OPTIONS',
    `${source}.storeToolCalls must be true, false, or a list of tool names whose calls are never stored (e.g. ['sendEmail']); got ${JSON.stringify(value)}.`,
  );
}

/** Whether an answer asking for calls of these tools may be stored, or the reason (for the `skip` event) it may not. */
export function toolCallVerdict(policy: ToolCallPolicy, toolNames: readonly string[]): true | string {
  if (policy === true || toolNames.length === 0) return true;
  const why = 'replaying it would make the app run the tool again';
  if (policy === false) {
    return `The answer asks for a tool call (${[...new Set(toolNames)].join(', ')}) and storeToolCalls is false: ${why}.`;
  }
  const listed = [...new Set(toolNames.filter((name) => policy.has(name)))];
  if (listed.length === 0) return true;
  return `The answer calls ${listed.map((name) => `'${name}'`).join(', ')}, listed in storeToolCalls: ${why}.`;
}
