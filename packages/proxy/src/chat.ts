import type { CacheRequest, ComputeOptions, FlightOutcome, FlightSource, Lookup } from '@llmemo/core';
import type { Context } from 'hono';
import { type RequestRecord, recordOf } from './access-log.js';
import {
  type ChatValue,
  chatMetadata,
  checkCompletion,
  checkStream,
  completionOf,
  completionToEvents,
  eventsToCompletion,
  satisfies,
  withoutUsage,
} from './chat-format.js';
import {
  cacheHeaders,
  isObject,
  type Json,
  jsonResponse,
  type ProxyContext,
  paramsOf,
  type StreamMeta,
} from './context.js';
import type { Directives } from './directives.js';
import { describeError } from './errors.js';
import { failure } from './forward.js';
import { parseBody } from './json-body.js';
import { bypassed, type Incoming, incomingOf, plan, readRequestBody } from './prepare.js';
import { cacheRequest } from './request-key.js';
import { formatEvents, pacedEvents, reportBreaks, SSE_HEADERS, SseRecorder } from './sse.js';
import { withoutUsageStream, withUsageRequested } from './stream-usage.js';
import { PassThrough, responseHeaders, Upstream, type UpstreamReply } from './upstream.js';

/**
 * Not part of the key: `stream` and `stream_options` only choose the wire form, and a stored answer is served in
 * either form (converted when it was recorded in the other).
 */
const WIRE_FIELDS = ['model', 'messages', 'stream', 'stream_options'];

export async function chatCompletions(context: ProxyContext, c: Context): Promise<Response> {
  const incoming = incomingOf(c);
  const raw = await readRequestBody(c, context);
  const parsed = parseBody(raw);
  const body = parsed.body;
  const model = isObject(body) ? body.model : undefined;
  const pass = (reason: string) => bypassed(context, c, 'chat', model, incoming, raw, reason);
  const endpoint = context.options.endpoints.chat;
  if (!endpoint) return pass('endpoint-off');
  if (parsed.unkeyable !== undefined) return pass(parsed.unkeyable);
  // Not ours to judge: the upstream answers (and rejects) what it cannot key.
  if (!isObject(body) || typeof body.model !== 'string' || !Array.isArray(body.messages)) return pass('unkeyable');
  const planned = await plan(context, c, endpoint, incoming);
  if (planned.bypass !== undefined) return pass(planned.bypass);
  const params = paramsOf(body, WIRE_FIELDS, context.options.ignoreParams);
  const request = cacheRequest(context, 'chat', body.model, body.messages, params, planned.scope);
  const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
  const cut = () => {
    // On Node, end the client's connection as the upstream's ended; elsewhere the erroring stream does it.
    if (!outgoing) return false;
    outgoing.destroy();
    return true;
  };
  const call: Call = {
    context,
    request,
    directives: planned.directives,
    incoming,
    raw,
    cut,
    record: recordOf(c),
  };
  try {
    return body.stream === true ? await streamed(call, body) : await unstreamed(call);
  } catch (error) {
    return failure(context, error);
  }
}

interface Call {
  context: ProxyContext;
  request: CacheRequest;
  directives: Directives;
  incoming: Incoming;
  raw: Uint8Array;
  cut: () => boolean;
  record: RequestRecord | undefined;
}

/** Entries a request can use: in replay mode any (nothing else may answer), otherwise one with the usage it needs. */
function acceptFor(directives: Directives, usage: boolean): ((value: ChatValue) => boolean) | undefined {
  return directives.mode === 'replay' ? undefined : (value) => satisfies(value, usage);
}

async function unstreamed({ context, request, directives, incoming, raw, record }: Call): Promise<Response> {
  let fetched: UpstreamReply | undefined;
  const compute = async (): Promise<ChatValue> => {
    const started = performance.now();
    context.metrics.upstreamRequest('chat');
    const reply = await context.upstream.reply('POST', incoming.path, incoming.headers, raw, record);
    if (!reply.ok) throw new PassThrough(reply);
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.text());
    } catch {
      throw new PassThrough(reply);
    }
    if (!isObject(parsed)) throw new PassThrough(reply);
    fetched = reply;
    return { format: 'json', body: parsed, ms: performance.now() - started };
  };
  const { cacheContentFilter } = context.options;
  const options: ComputeOptions<ChatValue> = {
    ...directives,
    cacheable: (value) => (value.format === 'json' ? checkCompletion(value.body, cacheContentFilter) : true),
    metadata: (value) => (value.format === 'json' ? chatMetadata(value.body.usage, value.body.model) : undefined),
  };
  const accept = acceptFor(directives, true);
  if (accept) options.accept = accept;
  const result = await context.cache.getOrCompute(request, compute, options);
  const { value, key } = result;
  const namespace = directives.namespace;
  if (result.hit) {
    context.metrics.hit('chat', value.ms);
    return answer(context, { value, age: result.age, key: key! }, result.stale ? 'STALE' : 'HIT', {}, directives);
  }
  if (key === undefined) {
    // The cache was bypassed (an unkeyable request, a closed cache): answer like a pass-through.
    const marks = { ...cacheHeaders('BYPASS', { namespace }), 'x-llmemo-bypass': 'unkeyable' };
    return fetched ? fetched.toResponse(marks) : jsonResponse(completionOf(value), marks);
  }
  context.metrics.miss('chat');
  const marks = cacheHeaders('MISS', { key, namespace, coalesced: result.coalesced });
  // The caller that fetched gets the upstream's bytes and headers unchanged; coalesced callers get the same body.
  if (fetched && !result.coalesced) return fetched.toResponse(marks);
  return jsonResponse(completionOf(value), marks);
}

function wantsUsage(body: Json): boolean {
  return isObject(body.stream_options) && body.stream_options.include_usage === true;
}

/** The stream options that change the bytes callers get, usage aside (every recorded stream asks for usage). */
function flightOptions(body: Json): string {
  if (!isObject(body.stream_options)) return 'null';
  const { include_usage: _usage, ...rest } = body.stream_options;
  return JSON.stringify(rest);
}

async function streamed(call: Call, body: Json): Promise<Response> {
  const { context, request, directives } = call;
  const usage = wantsUsage(body);
  const accept = acceptFor(directives, usage);
  const lookup: Lookup<ChatValue> = await context.cache.lookup<ChatValue>(
    request,
    accept ? { ...directives, accept } : directives,
  );
  if (lookup.hit) {
    context.metrics.hit('chat', lookup.value.ms);
    return answer(context, lookup, lookup.stale ? 'STALE' : 'HIT', body, directives);
  }
  if (lookup.key === undefined) {
    return bypassedStream(call);
  }
  context.metrics.miss('chat');
  // Callers share a flight when they would get the same bytes: usage is asked for upstream either way and taken
  // out per caller.
  const flightKey = `${lookup.key}\n${flightOptions(body)}`;
  const recorder = new SseRecorder();
  const started = performance.now();
  const choices = typeof body.n === 'number' && body.n > 1 ? body.n : 1;
  const commit = lookup.commit;
  const allowFiltered = context.options.cacheContentFilter;
  const ticket = context.flights.join(flightKey, () => openStream(call, recorder, body), {
    // Recorded after the last bytes went out (setImmediate runs after pending I/O), not before the client's end.
    onEnd: (outcome) =>
      new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
        record(outcome, recorder, started, { choices, allowFiltered }, commit),
      ),
  });
  let meta: StreamMeta;
  try {
    meta = await ticket.ready;
  } catch (error) {
    ticket.stream.cancel().catch(() => {});
    // Stale-if-error from this same lookup: the request stays one lookup, counted once.
    const stale = lookup.fallback(error);
    if (stale) return answer(context, { ...stale, key: lookup.key }, 'STALE', body, directives);
    throw error;
  }
  if (!ticket.leader) context.metrics.coalescedRequest('chat');
  const headers = responseHeaders(meta.headers, ['content-length', 'content-encoding']);
  const marks = cacheHeaders('MISS', { key: lookup.key, namespace: directives.namespace, coalesced: !ticket.leader });
  for (const [name, value] of Object.entries(marks)) headers.set(name, value);
  // Chunked from the first byte: the Node adapter would otherwise buffer the first reads to compute a length.
  headers.set('transfer-encoding', 'chunked');
  const stream = reportBreaks(
    usage ? ticket.stream : withoutUsageStream(ticket.stream),
    (error) =>
      `The upstream stream broke off before it finished (${describeError(error)}); nothing was cached. Retry the request.`,
    call.cut,
  );
  return new Response(stream, { status: meta.status, headers });
}

/** A stream core cannot key (it counted the bypass): straight through. */
async function bypassedStream(call: Call): Promise<Response> {
  const { context, incoming, raw } = call;
  const response = await context.upstream.request('POST', incoming.path, incoming.headers, raw, call.record);
  const headers = responseHeaders(response.headers);
  headers.set('x-cache', 'BYPASS');
  headers.set('x-llmemo-bypass', 'unkeyable');
  return new Response(Upstream.stream(response), { status: response.statusCode, headers });
}

/** Opens the upstream stream for a flight; the bytes pass through while the recorder reads them. */
async function openStream(
  call: Call,
  recorder: SseRecorder,
  body: Json,
): Promise<FlightSource<Uint8Array, StreamMeta>> {
  const { context, incoming, record } = call;
  context.metrics.upstreamRequest('chat');
  const sent = withUsageRequested(call.raw, body);
  const started = performance.now();
  const response = await context.upstream.request('POST', incoming.path, incoming.headers, sent, record);
  const type = String(response.headers['content-type'] ?? '');
  if (response.statusCode < 200 || response.statusCode >= 300 || !type.includes('text/event-stream')) {
    throw new PassThrough(await context.upstream.read(response, record));
  }
  const stream = Upstream.stream(response, {
    onChunk: (chunk) => recorder.push(chunk),
    onEnd: () => {
      recorder.end();
      if (record) record.upstreamMs = performance.now() - started;
    },
  });
  return { stream, meta: { status: response.statusCode, headers: response.headers } };
}

/** Stores a stream that ended cleanly and completely; the flight stays joinable until the write lands. */
function record(
  outcome: FlightOutcome<Uint8Array>,
  recorder: SseRecorder,
  started: number,
  { choices, allowFiltered }: { choices: number; allowFiltered: boolean },
  commit: Extract<Lookup<ChatValue>, { hit: false }>['commit'],
): Promise<boolean> | undefined {
  if (outcome.status !== 'done') return undefined;
  const verdict = checkStream(recorder.events, recorder.done, recorder.namedEvents, choices, allowFiltered);
  if (!verdict.complete) return undefined;
  const value: ChatValue = {
    format: 'sse',
    events: recorder.events,
    offsets: recorder.offsets,
    usage: verdict.usage !== undefined,
    ms: Math.round(performance.now() - started),
    completion: eventsToCompletion(recorder.events),
  };
  return commit(value, { metadata: chatMetadata(verdict.usage, verdict.model) });
}

/** An answer from a stored entry, in the form the request asked for: JSON, or a stream replayed (paced or not). */
function answer(
  context: ProxyContext,
  entry: { value: ChatValue; age: number; key: string },
  status: 'HIT' | 'STALE',
  body: Json,
  directives: Directives,
): Response {
  const { value } = entry;
  const marks = cacheHeaders(status, { key: entry.key, age: entry.age, namespace: directives.namespace });
  if (body.stream !== true) {
    return jsonResponse(completionOf(value), marks);
  }
  const usage = wantsUsage(body);
  const events =
    value.format === 'json'
      ? completionToEvents(value.body, usage)
      : value.usage && !usage
        ? withoutUsage(value.events)
        : value.events;
  const headers = { ...SSE_HEADERS, ...marks };
  const pacing = context.options.replay;
  if (pacing === 'instant') return new Response(formatEvents(events), { headers });
  const offsets = value.format === 'sse' ? value.offsets : [];
  const delay =
    pacing === 'recorded'
      ? (index: number) => (offsets[index] ?? offsets[index - 1] ?? 0) - (offsets[index - 1] ?? 0)
      : () => pacing;
  return new Response(pacedEvents(events, delay), { headers });
}
