import type { CacheRequest, ComputeOptions, FlightOutcome, FlightSource, Lookup } from '@llmemo/core';
import type { Context } from 'hono';
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
  cacheRequest,
  isObject,
  type Json,
  jsonResponse,
  type ProxyContext,
  paramsOf,
  pathOf,
  readJson,
  type StreamMeta,
} from './context.js';
import { bypasses, type Directives, directivesOf } from './directives.js';
import { describeError } from './errors.js';
import { failure, forward } from './forward.js';
import { formatEvents, pacedEvents, reportBreaks, SSE_HEADERS, SseRecorder } from './sse.js';
import { staleEntry } from './stale.js';
import { PassThrough, requestHeaders, responseHeaders, Upstream, type UpstreamReply } from './upstream.js';

/**
 * Not part of the key: `stream` and `stream_options` only choose the wire form, and a stored answer is served in
 * either form (converted when it was recorded in the other).
 */
const WIRE_FIELDS = ['model', 'messages', 'stream', 'stream_options'];
/** Never forwarded on cached endpoints: our directive, and compression (the proxy reads and stores the body). */
export const DROPPED_REQUEST_HEADERS = ['cache-control', 'accept-encoding', 'content-length'];

export async function chatCompletions(context: ProxyContext, c: Context): Promise<Response> {
  const { raw, body } = await readJson(c, context.options.maxBodyBytes);
  const endpoint = context.options.endpoints.chat;
  const path = pathOf(c);
  const headers = requestHeaders(c.req.raw.headers, DROPPED_REQUEST_HEADERS);
  if (!endpoint || !isObject(body) || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
    // Not ours to judge: the upstream answers (and rejects) what it cannot key.
    return forward(context, 'chat', 'POST', path, headers, raw);
  }
  const directives = directivesOf(c.req.raw.headers, endpoint, context.options);
  if (bypasses(directives)) {
    return forward(context, 'chat', 'POST', path, headers, raw, { 'x-llmemo-namespace': directives.namespace });
  }
  const request = cacheRequest(
    context,
    'chat',
    body.model,
    body.messages,
    paramsOf(body, WIRE_FIELDS, context.options.ignoreParams),
  );
  const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
  const cut = () => {
    // On Node, end the client's connection as the upstream's ended; elsewhere the erroring stream does it.
    if (!outgoing) return false;
    outgoing.destroy();
    return true;
  };
  const call = { context, request, directives, path, headers, raw, cut };
  try {
    return body.stream === true ? await streamed(call, body) : await unstreamed(call);
  } catch (error) {
    const stale = await staleEntry<ChatValue>(context, request, directives, error);
    if (stale) return answer(context, stale, 'STALE', body, directives);
    return failure(error);
  }
}

interface Call {
  context: ProxyContext;
  request: CacheRequest;
  directives: Directives;
  path: string;
  headers: Record<string, string>;
  raw: Uint8Array;
  cut: () => boolean;
}

/** A second try for a hit that cannot answer (it lacks usage): refetch and overwrite, unless the mode forbids it. */
function refetchOptions(directives: Directives): Directives {
  return { ...directives, mode: 'refresh', noStore: directives.noStore === true || directives.mode === 'read-only' };
}

async function unstreamed({ context, request, directives, path, headers, raw }: Call): Promise<Response> {
  let fetched: UpstreamReply | undefined;
  const compute = async (): Promise<ChatValue> => {
    const started = performance.now();
    context.metrics.upstreamRequest('chat');
    const reply = await context.upstream.reply('POST', path, headers, raw);
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
  const options: ComputeOptions<ChatValue> = {
    ...directives,
    cacheable: (value) => (value.format === 'json' ? checkCompletion(value.body) : true),
    metadata: (value) => (value.format === 'json' ? chatMetadata(value.body.usage, value.body.model) : undefined),
  };
  let result = await context.cache.getOrCompute(request, compute, options);
  if (result.hit && !satisfies(result.value, true) && directives.mode !== 'replay') {
    result = await context.cache.getOrCompute(request, compute, { ...options, ...refetchOptions(directives) });
  }
  const { value, key } = result;
  const namespace = directives.namespace;
  if (result.hit) {
    context.metrics.hit('chat', value.ms);
    return answer(context, { value, age: result.age, key: key! }, result.stale ? 'STALE' : 'HIT', {}, directives);
  }
  if (key === undefined) {
    // The cache was bypassed (an unkeyable request, a closed cache): answer like a pass-through.
    const marks = cacheHeaders('BYPASS', { namespace });
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

async function streamed(call: Call, body: Json): Promise<Response> {
  const { context, request, directives } = call;
  const usage = wantsUsage(body);
  let lookup: Lookup<ChatValue> = await context.cache.lookup<ChatValue>(request, directives);
  if (lookup.hit) {
    if (satisfies(lookup.value, usage) || directives.mode === 'replay') {
      context.metrics.hit('chat', lookup.value.ms);
      return answer(context, lookup, 'HIT', body, directives);
    }
    lookup = await context.cache.lookup<ChatValue>(request, refetchOptions(directives));
  }
  // (A refresh lookup never hits; this narrows the type.)
  if (lookup.hit) return answer(context, lookup, 'HIT', body, directives);
  if (lookup.key === undefined) {
    return forward(context, 'chat', 'POST', call.path, call.headers, call.raw, {
      'x-llmemo-namespace': directives.namespace,
    });
  }
  context.metrics.miss('chat');
  // Callers share a flight only when they would get the same bytes: same key and the same stream options.
  const flightKey = `${lookup.key}\n${JSON.stringify(body.stream_options ?? null)}`;
  const recorder = new SseRecorder();
  const started = performance.now();
  const choices = typeof body.n === 'number' && body.n > 1 ? body.n : 1;
  const commit = lookup.commit;
  const ticket = context.flights.join(flightKey, () => openStream(call, recorder), {
    // Recorded after the last bytes went out (setImmediate runs after pending I/O), not before the client's end.
    onEnd: (outcome) =>
      new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
        record(outcome, recorder, started, choices, commit),
      ),
  });
  let meta: StreamMeta;
  try {
    meta = await ticket.ready;
  } catch (error) {
    ticket.stream.cancel().catch(() => {});
    throw error;
  }
  if (!ticket.leader) context.metrics.coalescedRequest('chat');
  const headers = responseHeaders(meta.headers, ['content-length', 'content-encoding']);
  const marks = cacheHeaders('MISS', { key: lookup.key, namespace: directives.namespace, coalesced: !ticket.leader });
  for (const [name, value] of Object.entries(marks)) headers.set(name, value);
  // Chunked from the first byte: the Node adapter would otherwise buffer the first reads to compute a length.
  headers.set('transfer-encoding', 'chunked');
  const stream = reportBreaks(
    ticket.stream,
    (error) =>
      `The upstream stream broke off before it finished (${describeError(error)}); nothing was cached. Retry the request.`,
    call.cut,
  );
  return new Response(stream, { status: meta.status, headers });
}

/** Opens the upstream stream for a flight; the bytes pass through untouched while the recorder reads them. */
async function openStream(call: Call, recorder: SseRecorder): Promise<FlightSource<Uint8Array, StreamMeta>> {
  const { context } = call;
  context.metrics.upstreamRequest('chat');
  const response = await context.upstream.request('POST', call.path, call.headers, call.raw);
  const type = String(response.headers['content-type'] ?? '');
  if (response.statusCode < 200 || response.statusCode >= 300 || !type.includes('text/event-stream')) {
    throw new PassThrough(await context.upstream.read(response));
  }
  const stream = Upstream.stream(response, {
    onChunk: (chunk) => recorder.push(chunk),
    onEnd: () => recorder.end(),
  });
  return { stream, meta: { status: response.statusCode, headers: response.headers } };
}

/** Stores a stream that ended cleanly and completely; the flight stays joinable until the write lands. */
function record(
  outcome: FlightOutcome<Uint8Array>,
  recorder: SseRecorder,
  started: number,
  choices: number,
  commit: Extract<Lookup<ChatValue>, { hit: false }>['commit'],
): Promise<boolean> | undefined {
  if (outcome.status !== 'done') return undefined;
  const verdict = checkStream(recorder.events, recorder.done, recorder.namedEvents, choices);
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
