import type { Answer } from './answer.js';
import { cacheHeaders, isObject, type Json, jsonAnswer, type ProxyContext, paramsOf } from './context.js';
import { callOf, type Entry, plainExchange, streamedExchange } from './exchange.js';
import { failure } from './forward.js';
import { parseBody } from './json-body.js';
import {
  anthropicErrorEvent,
  checkMessage,
  type MessageValue,
  messageMetadata,
  messageToEvents,
  namedBlocks,
  recordedMessage,
} from './messages-format.js';
import { bypassed, incomingOf, plan, readRequestBody } from './prepare.js';
import type { ProxyRequest } from './request.js';
import { cacheRequest } from './request-key.js';
import { replayStream, sseAnswer } from './sse.js';

/**
 * Not part of the key: `stream` only chooses the wire form, and a stored message is served in either form.
 * Everything else is: `system`, `tools`, `tool_choice`, `thinking` (its budget too), `max_tokens`, `metadata`, ….
 * The `anthropic-version` and `anthropic-beta` headers are in the key too (core's header allowlist).
 */
const WIRE_FIELDS = ['model', 'messages', 'stream'];

/**
 * POST /v1/messages, the Anthropic Messages API, cached like chat completions: the same key rules, namespaces,
 * directives and coalescing, sent to `anthropicUpstream`. The credential is `x-api-key` (or `Authorization`).
 */
export async function anthropicMessages(context: ProxyContext, req: ProxyRequest): Promise<Answer> {
  const incoming = incomingOf(req);
  const raw = await readRequestBody(req, context);
  const parsed = parseBody(raw);
  const body = parsed.body;
  const pass = (reason: string) =>
    bypassed(context, req, 'messages', isObject(body) ? body.model : undefined, incoming, raw, reason);
  const endpoint = context.options.endpoints.messages;
  if (!endpoint) return pass('endpoint-off');
  if (parsed.unkeyable !== undefined) return pass(parsed.unkeyable);
  if (!isObject(body) || typeof body.model !== 'string' || !Array.isArray(body.messages)) return pass('unkeyable');
  const upstream = context.anthropic;
  const planned = await plan(context, req, endpoint, incoming, upstream);
  if (planned.bypass !== undefined) return pass(planned.bypass);
  const params = paramsOf(body, WIRE_FIELDS, context.options.ignoreParams);
  // The provider label names the Anthropic upstream when it is its own host.
  const provider = upstream === context.upstream ? context.options.provider : upstream.base.host;
  const request = cacheRequest(context, 'message', body.model, body.messages, params, planned.scope, provider);
  const { directives } = planned;
  const call = callOf(req, { context, label: 'messages', upstream, request, directives, incoming, raw });
  const stream = body.stream === true;
  const answerWith = (entry: Entry<MessageValue>, status: 'HIT' | 'STALE') => {
    const marks = cacheHeaders(status, { key: entry.key, age: entry.age, namespace: directives.namespace });
    return answer(context, entry.value, stream, marks);
  };
  const { cacheContentFilter } = context.options;
  try {
    if (!stream) {
      return await plainExchange<MessageValue>(call, {
        options: {
          cacheable: (value) => (value.format === 'json' ? checkMessage(value.body, cacheContentFilter) : true),
          metadata: (value) => messageMetadata(messageOf(value)),
        },
        jsonOf: messageOf,
        answer: answerWith,
      });
    }
    return await streamedExchange<MessageValue>(call, {
      flightKey: (key) => key,
      sent: raw,
      errorEvent: anthropicErrorEvent,
      record(recorder, ms) {
        const message = recordedMessage(recorder.names, recorder.events);
        if (typeof message === 'string') return message;
        const verdict = checkMessage(message, cacheContentFilter);
        if (verdict !== true) return verdict;
        const { names, events, offsets } = recorder;
        return { value: { format: 'sse', names, events, offsets, ms, message }, metadata: messageMetadata(message) };
      },
      answer: answerWith,
    });
  } catch (error) {
    return failure(context, error);
  }
}

function messageOf(value: MessageValue): Json {
  return value.format === 'json' ? value.body : value.message;
}

/** A stored message in the form asked for: the JSON body, or the stream (as recorded, or built from the body). */
function answer(context: ProxyContext, value: MessageValue, stream: boolean, marks: Record<string, string>): Answer {
  if (!stream) return jsonAnswer(messageOf(value), marks);
  const { names, events } = value.format === 'sse' ? value : messageToEvents(value.body);
  const offsets = value.format === 'sse' ? value.offsets : [];
  const body = replayStream(context.options.replay, namedBlocks(names, events), offsets);
  return sseAnswer(body, marks);
}
