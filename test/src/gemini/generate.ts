// The Gemini API's wire format (POST …/models/{model}:generateContent and :streamGenerateContent?alt=sse), as
// documented and as @ai-sdk/google and @google/generative-ai (under @langchain/google-genai) parse it: candidates
// whose parts are `text` (with `thought: true` for a thought summary), `functionCall` and `inlineData`, any of them
// carrying a `thoughtSignature`; `usageMetadata` with prompt, candidate and thought token counts. A stream is a
// sequence of such responses, the last with the finish reason and the totals.
import type { SseEvent } from '../openai/sse.js';
import { countTokens, nextId, splitWords } from '../openai/text.js';
import type { RecordedRequest } from '../openai/types.js';

export interface GeminiFunctionCall {
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly thoughtSignature?: string;
}

export interface GeminiImage {
  readonly mimeType: string;
  /** Bytes, or their base64. */
  readonly data: Uint8Array | string;
}

/** How the fake answers one generateContent request. Every field is optional. */
export interface GeminiReply {
  readonly text?: string;
  readonly chunks?: readonly string[];
  /** A thought summary part (`thought: true`) before the answer. */
  readonly thought?: string;
  /** Sent on the thought part (or on the first text part when there is no thought). */
  readonly thoughtSignature?: string;
  readonly functionCalls?: readonly GeminiFunctionCall[];
  readonly images?: readonly GeminiImage[];
  readonly finishReason?: 'STOP' | 'MAX_TOKENS' | 'SAFETY' | 'RECITATION' | 'OTHER';
  readonly usage?: {
    readonly promptTokens?: number;
    readonly candidatesTokens?: number;
    readonly thoughtsTokens?: number;
  };
  /** Reported as `modelVersion`; defaults to the requested model. */
  readonly modelVersion?: string;
}

type Part = Record<string, unknown>;

/** What a responder sees of a generateContent request. */
export interface GeminiRequest extends RecordedRequest {
  readonly model: string;
  readonly stream: boolean;
  readonly contents: readonly { role?: string; parts: readonly Part[] }[];
  /** Text of the last user turn's text parts ('' if none). */
  readonly lastUserText: string;
  /** `functionResponse` parts sent back, in order. */
  readonly functionResponses: readonly { name: string; response: unknown }[];
  readonly toolNames: readonly string[];
  readonly generationConfig: Record<string, unknown>;
}

export const GENERATE_PATH = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

export function viewOf(recorded: RecordedRequest): GeminiRequest | undefined {
  const match = GENERATE_PATH.exec(recorded.path);
  if (!match) return undefined;
  const body = (recorded.body ?? {}) as Record<string, unknown>;
  const contents = (body.contents as GeminiRequest['contents']) ?? [];
  const lastUser = [...contents].reverse().find((content) => content.role !== 'model');
  const parts = (content: { parts?: readonly Part[] } | undefined) => content?.parts ?? [];
  const tools = Array.isArray(body.tools) ? (body.tools as Part[]) : [];
  return {
    ...recorded,
    model: decodeURIComponent(match[1]!),
    stream: match[2] === 'streamGenerateContent',
    contents,
    lastUserText: parts(lastUser)
      .filter((part) => typeof part.text === 'string')
      .map((part) => part.text as string)
      .join('\n'),
    functionResponses: contents.flatMap((content) =>
      parts(content)
        .filter((part) => part.functionResponse !== undefined)
        .map((part) => part.functionResponse as { name: string; response: unknown }),
    ),
    toolNames: tools.flatMap((tool) =>
      ((tool.functionDeclarations as Part[] | undefined) ?? []).map((declaration) => String(declaration.name)),
    ),
    generationConfig: (body.generationConfig as Record<string, unknown>) ?? {},
  };
}

interface Resolved {
  responseId: string;
  modelVersion: string;
  thought: Part | undefined;
  textParts: Part[];
  otherParts: Part[];
  finishReason: string;
  usage: Record<string, number>;
}

export function resolve(reply: GeminiReply, request: GeminiRequest): Resolved {
  const calls = reply.functionCalls ?? [];
  const images = reply.images ?? [];
  const quiet = calls.length > 0 || images.length > 0;
  const chunks = reply.chunks ?? splitWords(reply.text ?? (quiet ? '' : `Echo: ${request.lastUserText}`));
  const signature = reply.thoughtSignature;
  const thought =
    reply.thought === undefined
      ? undefined
      : { text: reply.thought, thought: true, ...(signature ? { thoughtSignature: signature } : {}) };
  const textParts: Part[] = chunks.map((text) => ({ text }));
  if (!thought && signature && textParts[0]) textParts[0].thoughtSignature = signature;
  const otherParts: Part[] = [
    ...calls.map(({ name, args, thoughtSignature }) => ({
      functionCall: { name, args },
      ...(thoughtSignature ? { thoughtSignature } : {}),
    })),
    ...images.map(({ mimeType, data }) => ({
      inlineData: { mimeType, data: typeof data === 'string' ? data : Buffer.from(data).toString('base64') },
    })),
  ];
  const promptTokens =
    reply.usage?.promptTokens ?? request.contents.reduce((sum, c) => sum + countTokens(JSON.stringify(c.parts)), 0);
  const candidatesTokens = reply.usage?.candidatesTokens ?? countTokens(chunks.join('')) + calls.length;
  const thoughtsTokens = reply.usage?.thoughtsTokens ?? countTokens(reply.thought ?? '');
  const usage: Record<string, number> = {
    promptTokenCount: promptTokens,
    candidatesTokenCount: candidatesTokens,
    totalTokenCount: promptTokens + candidatesTokens + thoughtsTokens,
  };
  if (thoughtsTokens > 0) usage.thoughtsTokenCount = thoughtsTokens;
  return {
    responseId: nextId('resp-'),
    modelVersion: reply.modelVersion ?? request.model,
    thought,
    textParts,
    otherParts,
    finishReason: reply.finishReason ?? 'STOP',
    usage,
  };
}

function response(resolved: Resolved, parts: Part[], last: boolean): Record<string, unknown> {
  const candidate: Record<string, unknown> = { content: { role: 'model', parts }, index: 0 };
  if (last) candidate.finishReason = resolved.finishReason;
  return {
    candidates: [candidate],
    ...(last ? { usageMetadata: resolved.usage } : {}),
    modelVersion: resolved.modelVersion,
    responseId: resolved.responseId,
  };
}

export function generateBody(resolved: Resolved): Record<string, unknown> {
  const text = resolved.textParts.map((part) => part.text).join('');
  const textPart: Part[] =
    text === ''
      ? []
      : [
          {
            text,
            ...(resolved.textParts[0]?.thoughtSignature
              ? { thoughtSignature: resolved.textParts[0].thoughtSignature }
              : {}),
          },
        ];
  const parts = [...(resolved.thought ? [resolved.thought] : []), ...textPart, ...resolved.otherParts];
  return response(resolved, parts, true);
}

export function generateEvents(resolved: Resolved): SseEvent[] {
  const pieces: Part[][] = [];
  if (resolved.thought) pieces.push([resolved.thought]);
  for (const part of resolved.textParts) pieces.push([part]);
  if (resolved.otherParts.length > 0) pieces.push(resolved.otherParts);
  if (pieces.length === 0) pieces.push([]);
  return pieces.map((parts, index) => ({ data: response(resolved, parts, index === pieces.length - 1) }));
}
