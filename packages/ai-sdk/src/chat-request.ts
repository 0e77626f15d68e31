import { type CacheRequest, copyWithout } from '@llmemo/core';
import type { CallOptions, SpecVersion } from './spec.js';
import type { ModelIdentity } from './types.js';

type Part = Record<string, unknown>;
type Message = { role: string; content: unknown };

/**
 * Rewrites tool-call and approval ids in a prompt to their order of appearance (`tc0`, `tc1`, …; `ap0`, …),
 * consistently across the assistant's tool calls and the tool results that answer them. Ids are correlation
 * handles the provider (or the SDK) makes up fresh each run: keyed as sent, a regenerated earlier step would make
 * every later step of an agent loop miss. Copy-on-write: a prompt without tool parts is returned as is.
 */
export function positionalToolIds(prompt: readonly Message[]): readonly Message[] {
  const toolIds = new Map<string, string>();
  const approvalIds = new Map<string, string>();
  const rename = (map: Map<string, string>, id: unknown, prefix: string): unknown => {
    if (typeof id !== 'string') return id;
    let renamed = map.get(id);
    if (renamed === undefined) {
      renamed = `${prefix}${map.size}`;
      map.set(id, renamed);
    }
    return renamed;
  };
  let out: Message[] | undefined;
  for (let m = 0; m < prompt.length; m++) {
    const message = prompt[m]!;
    if (!Array.isArray(message.content)) continue;
    let content: Part[] | undefined;
    for (let p = 0; p < message.content.length; p++) {
      const part = message.content[p] as Part;
      const hasToolId = typeof part?.toolCallId === 'string';
      const hasApprovalId = typeof part?.approvalId === 'string';
      if (!hasToolId && !hasApprovalId) continue;
      const copy: Part = { ...part };
      if (hasToolId) copy.toolCallId = rename(toolIds, part.toolCallId, 'tc');
      if (hasApprovalId) copy.approvalId = rename(approvalIds, part.approvalId, 'ap');
      content ??= [...(message.content as Part[])];
      content[p] = copy;
    }
    if (content) {
      out ??= [...prompt];
      out[m] = { ...message, content };
    }
  }
  return out ?? prompt;
}

function isAutoToolChoice(value: unknown): boolean {
  return (value as { type?: unknown } | undefined)?.type === 'auto';
}

/**
 * The CacheRequest for one language-model call. `kind` is 'chat' for generate and stream alike, so either can be
 * served from the other's entry. Params are the call options minus the prompt (core drops abortSignal, headers
 * outside its allowlist and includeRawChunks); defaults that say nothing are dropped so they cannot split keys:
 * ai@7 sends `toolChoice: { type: 'auto' }` with no tools where ai@5/6 send nothing, and an empty `tools` array is
 * no tools. `endpoint` is where the model sends the call (see endpoint.ts): two endpoints never share an entry.
 */
export function chatRequest(
  model: ModelIdentity,
  spec: SpecVersion,
  params: CallOptions,
  toolCallIds: 'positional' | 'exact',
  endpoint: string | undefined,
): CacheRequest {
  const source = params as CallOptions & Record<string, unknown>;
  const tools = source.tools as unknown[] | undefined;
  const noTools = tools === undefined || tools === null || (Array.isArray(tools) && tools.length === 0);
  const dropChoice = noTools && isAutoToolChoice(source.toolChoice);
  const rest = copyWithout(
    source,
    (name) => name === 'prompt' || (noTools && name === 'tools') || (dropChoice && name === 'toolChoice'),
  );
  const prompt = source.prompt;
  const request: CacheRequest = {
    kind: 'chat',
    provider: model.provider,
    model: model.modelId,
    specVersion: spec,
    input: toolCallIds === 'positional' ? positionalToolIds(prompt as readonly Message[]) : prompt,
    params: rest,
  };
  if (endpoint !== undefined) request.endpoint = endpoint;
  return request;
}
