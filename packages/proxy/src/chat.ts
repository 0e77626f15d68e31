import type { EntryMetadata } from '@llmemo/core';
import type { Answer } from './answer.js';
import {
  type ChatValue,
  chatMetadata,
  checkCompletion,
  completionOf,
  completionToEvents,
  satisfies,
} from './chat-format.js';
import { cacheHeaders, isObject, type Json, jsonAnswer, type ProxyContext, paramsOf } from './context.js';
import type { Directives } from './directives.js';
import { callOf, type Entry, plainExchange, streamedExchange } from './exchange.js';
import { failure } from './forward.js';
import { parseBody } from './json-body.js';
import { bypassed, incomingOf, plan, readRequestBody } from './prepare.js';
import type { ProxyRequest } from './request.js';
import { cacheRequest } from './request-key.js';
import { replayStream, type SseRecorder, sseAnswer } from './sse.js';
import { withoutUsage } from './stored-usage.js';
import { recordStreamed } from './stream-record.js';
import { usageStripper, withUsageRequested } from './stream-usage.js';

/**
 * Not part of the key: `stream` and `stream_options` only choose the wire form, and a stored answer is served in
 * either form (converted when it was recorded in the other).
 */
const WIRE_FIELDS = ['model', 'messages', 'stream', 'stream_options'];

export async function chatCompletions(context: ProxyContext, req: ProxyRequest): Promise<Answer> {
  const incoming = incomingOf(req);
  const raw = await readRequestBody(req, context);
  const parsed = parseBody(raw);
  const body = parsed.body;
  const model = isObject(body) ? body.model : undefined;
  const pass = (reason: string) => bypassed(context, req, 'chat', model, incoming, raw, reason);
  const endpoint = context.options.endpoints.chat;
  if (!endpoint) return pass('endpoint-off');
  if (parsed.unkeyable !== undefined) return pass(parsed.unkeyable);
  // Not ours to judge: the upstream answers (and rejects) what it cannot key.
  if (!isObject(body) || typeof body.model !== 'string' || !Array.isArray(body.messages)) return pass('unkeyable');
  const planned = await plan(context, req, endpoint, incoming);
  if (planned.bypass !== undefined) return pass(planned.bypass);
  const params = paramsOf(body, WIRE_FIELDS, context.options.ignoreParams);
  const request = cacheRequest(context, 'chat', body.model, body.messages, params, planned.scope);
  const { directives } = planned;
  const call = callOf(req, { context, label: 'chat', upstream: context.upstream, request, directives, incoming, raw });
  const answerWith = (form: Json) => (entry: Entry<ChatValue>, status: 'HIT' | 'STALE') =>
    answer(context, entry, status, form, directives);
  const { cacheContentFilter } = context.options;
  try {
    if (body.stream !== true) {
      return await plainExchange<ChatValue>(call, {
        options: {
          cacheable: (value) => (value.format === 'json' ? checkCompletion(value.body, cacheContentFilter) : true),
          metadata: (value) => (value.format === 'json' ? chatMetadata(value.body.usage, value.body.model) : undefined),
          accept: (value) => satisfies(value, true),
        },
        jsonOf: completionOf,
        answer: answerWith({}),
      });
    }
    const usage = wantsUsage(body);
    const choices = typeof body.n === 'number' && body.n > 1 ? body.n : 1;
    return await streamedExchange<ChatValue>(call, {
      accept: (value) => satisfies(value, usage),
      // Usage is asked for upstream either way and taken out per caller, so it does not split a flight.
      flightKey: (key) => `${key}\n${flightOptions(body)}`,
      sent: withUsageRequested(raw, body),
      ...(!usage && { clientBytes: usageStripper }),
      record: (recorder, ms) => recordStream(recorder, ms, choices, cacheContentFilter),
      answer: answerWith(body),
    });
  } catch (error) {
    return failure(context, error);
  }
}

function wantsUsage(body: Json): boolean {
  return isObject(body.stream_options) && body.stream_options.include_usage === true;
}

/** The stream options that change the bytes callers get, usage aside (every recorded stream asks for usage). */
function flightOptions(body: Json): string {
  if (!isObject(body.stream_options)) return 'null';
  const { include_usage: _usage, ...rest } = body.stream_options;
  // Options holding nothing but usage ask for the same bytes as none: one flight.
  return Object.keys(rest).length === 0 ? 'null' : JSON.stringify(rest);
}

/** The entry a clean stream adds up to, if it is complete (every choice finished, no error). */
function recordStream(
  recorder: SseRecorder,
  ms: number,
  choices: number,
  allowFiltered: boolean,
): { value: ChatValue; metadata: EntryMetadata } | string {
  const { events, done, namedEvents } = recorder;
  const { verdict, completion } = recordStreamed(events, done, namedEvents, choices, allowFiltered);
  if (!verdict.complete) return verdict.reason ?? 'incomplete';
  const value: ChatValue = {
    format: 'sse',
    events,
    offsets: recorder.offsets,
    usage: verdict.usage !== undefined,
    ms,
    completion,
  };
  return { value, metadata: chatMetadata(verdict.usage, verdict.model) };
}

/** An answer from a stored entry, in the form the request asked for: JSON, or a stream replayed (paced or not). */
function answer(
  context: ProxyContext,
  entry: Entry<ChatValue>,
  status: 'HIT' | 'STALE',
  body: Json,
  directives: Directives,
): Answer {
  const { value } = entry;
  const marks = cacheHeaders(status, { key: entry.key, age: entry.age, namespace: directives.namespace });
  if (body.stream !== true) {
    return jsonAnswer(completionOf(value), marks);
  }
  const usage = wantsUsage(body);
  const events =
    value.format === 'json'
      ? completionToEvents(value.body, usage)
      : value.usage && !usage
        ? withoutUsage(value.events)
        : value.events;
  const blocks = [...events, '[DONE]'].map((payload) => `data: ${payload}\n\n`);
  const offsets = value.format === 'sse' ? value.offsets : [];
  return sseAnswer(replayStream(context.options.replay, blocks, offsets), marks);
}
