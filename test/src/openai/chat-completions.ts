import type { ResolvedReply } from './script.js';
import type { SseEvent } from './sse.js';
import { nextId, nowSeconds } from './text.js';
import type { ReplyRequest } from './types.js';

const SYSTEM_FINGERPRINT = 'fp_llmemo_test';

function usageOf(reply: ResolvedReply) {
  const { inputTokens, outputTokens, reasoningTokens, cachedTokens } = reply.usage;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** A `chat.completion` object as POST /v1/chat/completions returns it without `stream`. */
export function chatCompletion(reply: ResolvedReply) {
  const hasTools = reply.toolCalls.length > 0;
  return {
    id: nextId('chatcmpl-'),
    object: 'chat.completion',
    created: nowSeconds(),
    model: reply.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          // The real API sends null content alongside tool calls when the model wrote no text.
          content: hasTools && reply.text === '' ? null : reply.text,
          refusal: null,
          annotations: [],
          // Not an OpenAI field (DeepSeek-style); the SDKs ignore or pass it through, so it is safe to include.
          ...(reply.reasoning !== '' && { reasoning_content: reply.reasoning }),
          ...(hasTools && {
            tool_calls: reply.toolCalls.map((call) => ({
              id: call.id,
              type: 'function',
              function: { name: call.name, arguments: call.arguments },
            })),
          }),
        },
        logprobs: null,
        finish_reason: reply.finishReason,
      },
    ],
    usage: usageOf(reply),
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

/**
 * The `chat.completion.chunk` events of a streamed completion, in OpenAI's order: a role delta, content (or tool call)
 * deltas, an empty delta carrying finish_reason, then a usage chunk with no choices when include_usage was asked.
 */
export function chatCompletionEvents(reply: ResolvedReply, request: ReplyRequest): SseEvent[] {
  const body = request.body as { stream_options?: { include_usage?: boolean } } | undefined;
  const includeUsage = body?.stream_options?.include_usage === true && reply.streamUsage;
  const id = nextId('chatcmpl-');
  const created = nowSeconds();
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): SseEvent => ({
    data: {
      id,
      object: 'chat.completion.chunk',
      created,
      model: reply.model,
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      // With include_usage on, every chunk but the last carries usage: null.
      ...(includeUsage && { usage: null }),
    },
  });

  const events: SseEvent[] = [];
  const textFirst = reply.toolCalls.length === 0 || reply.text !== '';
  events.push(chunk({ role: 'assistant', content: textFirst ? '' : null, refusal: null }));
  // One delta, not word by word: the openai client's stream helper overwrites unknown delta fields instead of
  // concatenating them, so split reasoning would come out as its last word.
  if (reply.reasoning !== '') events.push(chunk({ reasoning_content: reply.reasoning }));
  for (const piece of reply.chunks) if (piece !== '') events.push(chunk({ content: piece }));
  for (const [index, call] of reply.toolCalls.entries()) {
    events.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    );
    for (const fragment of call.argumentChunks) {
      events.push(chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }));
    }
  }
  events.push(chunk({}, reply.finishReason));
  if (includeUsage) {
    events.push({
      data: {
        id,
        object: 'chat.completion.chunk',
        created,
        model: reply.model,
        service_tier: 'default',
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [],
        usage: usageOf(reply),
      },
    });
  }
  events.push({ data: '[DONE]' });
  return events;
}
