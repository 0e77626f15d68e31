import type { CacheRequest, ComputeOptions, EntryMetadata, FlightOutcome, FlightSource, Lookup } from '@llmemo/core';
import type { RequestRecord } from './access-log.js';
import { Answer } from './answer.js';
import { ChunkBody, type ChunkTransform } from './chunk-body.js';
import { cacheHeaders, isObject, type Json, jsonAnswer, type ProxyContext, type StreamMeta } from './context.js';
import type { Directives } from './directives.js';
import { describeError } from './errors.js';
import type { EndpointLabel } from './metrics.js';
import type { Incoming } from './prepare.js';
import type { ProxyRequest } from './request.js';
import { SseRecorder } from './sse.js';
import { PassThrough, responseHeaders, responseRecord, Upstream, type UpstreamReply } from './upstream.js';

/**
 * One cached exchange with a generating endpoint (chat completions, Anthropic messages): a plain JSON answer or an
 * SSE stream, looked up, fetched, coalesced, recorded and replayed the same way whatever the wire format. Each
 * endpoint supplies what differs (how an answer is checked, converted and replayed).
 */

/** A stored answer in the form it arrived in: at least the JSON form, and how long the upstream took. */
export type StoredAnswer = { format: 'json'; body: Json; ms: number } | { format: 'sse'; ms: number };

export interface Call {
  context: ProxyContext;
  label: EndpointLabel;
  upstream: Upstream;
  request: CacheRequest;
  directives: Directives;
  incoming: Incoming;
  raw: Uint8Array;
  /** Ends the client's connection (Node), as the upstream's ended; false where the erroring stream does it. */
  cut: () => boolean;
  record: RequestRecord | undefined;
}

export function callOf(from: ProxyRequest, fields: Omit<Call, 'cut' | 'record'>): Call {
  const { outgoing } = from;
  const cut = () => {
    if (!outgoing) return false;
    outgoing.destroy();
    return true;
  };
  return { ...fields, cut, record: from.record };
}

/** A stored entry as the handlers answer from it. */
export interface Entry<V> {
  value: V;
  age: number;
  key: string;
}

export interface PlainSpec<V extends StoredAnswer> {
  /** cacheable, metadata, accept: what decides whether an answer is stored and an entry used. */
  options: Pick<ComputeOptions<V>, 'cacheable' | 'metadata' | 'accept'>;
  /** The JSON body a stored value answers a plain request with. */
  jsonOf(value: V): Json;
  /** The answer from a stored entry (a hit or stale). */
  answer(entry: Entry<V>, status: 'HIT' | 'STALE'): Answer;
}

/** A plain request: one getOrCompute. The caller that fetched gets the upstream's bytes and headers unchanged. */
export async function plainExchange<V extends StoredAnswer>(call: Call, spec: PlainSpec<V>): Promise<Answer> {
  const { context, label, upstream, request, directives, incoming, raw, record } = call;
  let fetched: UpstreamReply | undefined;
  const compute = async (): Promise<V> => {
    const started = performance.now();
    context.metrics.upstreamRequest(label);
    const reply = await upstream.reply('POST', incoming.path, incoming.headers, raw, record);
    if (!reply.ok) throw new PassThrough(reply);
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.text());
    } catch {
      throw new PassThrough(reply);
    }
    if (!isObject(parsed)) throw new PassThrough(reply);
    fetched = reply;
    return { format: 'json', body: parsed, ms: performance.now() - started } as V;
  };
  const options: ComputeOptions<V> = { ...directives };
  for (const [name, value] of Object.entries(spec.options)) {
    if (value !== undefined && !(name === 'accept' && directives.mode === 'replay')) {
      (options as Record<string, unknown>)[name] = value;
    }
  }
  const result = await context.cache.getOrCompute(request, compute, options);
  const { value, key } = result;
  const namespace = directives.namespace;
  if (result.hit) {
    context.metrics.hit(label, value.ms);
    return spec.answer({ value, age: result.age, key: key! }, result.stale ? 'STALE' : 'HIT');
  }
  if (key === undefined) {
    // The cache was bypassed (an unkeyable request, a closed cache): answer like a pass-through.
    const marks = { ...cacheHeaders('BYPASS', { namespace }), 'x-llmemo-bypass': 'unkeyable' };
    return fetched ? fetched.toAnswer(marks) : jsonAnswer(spec.jsonOf(value), marks);
  }
  context.metrics.miss(label);
  const marks = cacheHeaders('MISS', { key, namespace, coalesced: result.coalesced });
  if (fetched && !result.coalesced) return fetched.toAnswer(marks);
  return jsonAnswer(spec.jsonOf(value), marks);
}

export interface StreamSpec<V extends StoredAnswer> {
  /** Whether a stored entry can answer this request (ignored in replay mode, where nothing else may answer). */
  accept?: (value: V) => boolean;
  /** Callers share one upstream stream when they would get the same bytes; this extends the entry key for that. */
  flightKey(key: string): string;
  /** The body sent upstream (the client's, or with what recording needs, such as usage). */
  sent: Uint8Array;
  /** The client's copy of the upstream bytes (e.g. without the usage it did not ask for), made per caller. */
  clientBytes?: () => ChunkTransform;
  /** The API's own in-band error event, for a stream that breaks off between events. */
  errorEvent?: (message: string) => string;
  /** The entry a stream that ended cleanly adds up to, or why it must not be stored. */
  record(recorder: SseRecorder, ms: number): { value: V; metadata?: EntryMetadata } | string;
  answer(entry: Entry<V>, status: 'HIT' | 'STALE'): Answer;
}

/** A streamed request: a hit is replayed; a miss joins (or leads) one upstream stream, recorded as it passes. */
export async function streamedExchange<V extends StoredAnswer>(call: Call, spec: StreamSpec<V>): Promise<Answer> {
  const { context, label, request, directives } = call;
  const accept = directives.mode === 'replay' ? undefined : spec.accept;
  const lookup: Lookup<V> = await context.cache.lookup<V>(request, accept ? { ...directives, accept } : directives);
  if (lookup.hit) {
    context.metrics.hit(label, lookup.value.ms);
    return spec.answer(lookup, lookup.stale ? 'STALE' : 'HIT');
  }
  if (lookup.key === undefined) return bypassedStream(call);
  context.metrics.miss(label);
  const recorder = new SseRecorder();
  const started = performance.now();
  const commit = lookup.commit;
  const ticket = context.flights.join(spec.flightKey(lookup.key), () => openStream(call, recorder, spec.sent), {
    // Recorded after the last bytes went out (setImmediate runs after pending I/O), not before the client's end.
    onEnd: (outcome) =>
      new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => store(outcome, recorder, started, spec, commit))
        .finally(lookup.release),
  });
  // A follower's answer is the leader's stream, stored (or not) by the leader's lookup: this one ends now, so a
  // store swap need not wait for it. The leader's ends with its flight (onEnd), whatever the outcome.
  if (!ticket.leader) lookup.release();
  let meta: StreamMeta;
  try {
    meta = await ticket.ready;
  } catch (error) {
    ticket.stream.cancel().catch(() => {});
    // Stale-if-error from this same lookup: the request stays one lookup, counted once.
    const stale = lookup.fallback(error);
    if (stale) return spec.answer({ ...stale, key: lookup.key }, 'STALE');
    throw error;
  }
  if (!ticket.leader) context.metrics.coalescedRequest(label);
  // A record, not `Headers`: the Node path writes it as is. The upstream's content type is text/event-stream
  // (openStream checked), so the default type the adapter adds to `Headers` never applied here.
  const headers = responseRecord(meta.headers, ['content-length', 'content-encoding']);
  Object.assign(
    headers,
    cacheHeaders('MISS', { key: lookup.key, namespace: directives.namespace, coalesced: !ticket.leader }),
  );
  // Chunked from the first byte: the Node adapter would otherwise buffer the first reads to compute a length.
  headers['transfer-encoding'] = 'chunked';
  return new Answer(new ChunkBody(ticket, spec.clientBytes), headers, meta.status, {
    describe: (error) =>
      `The upstream stream broke off before it finished (${describeError(error)}); nothing was cached. Retry the request.`,
    cut: call.cut,
    errorEvent: spec.errorEvent,
  });
}

/** A stream core cannot key (it counted the bypass): straight through. */
async function bypassedStream(call: Call): Promise<Answer> {
  const { upstream, incoming, raw } = call;
  const response = await upstream.request('POST', incoming.path, incoming.headers, raw, call.record);
  const headers = responseHeaders(response.headers);
  headers.set('x-cache', 'BYPASS');
  headers.set('x-llmemo-bypass', 'unkeyable');
  return new Answer(Upstream.stream(response), headers, response.statusCode);
}

/** Opens the upstream stream for a flight; the bytes pass through while the recorder reads them. */
async function openStream(
  call: Call,
  recorder: SseRecorder,
  sent: Uint8Array,
): Promise<FlightSource<Uint8Array, StreamMeta>> {
  const { context, upstream, incoming, record } = call;
  context.metrics.upstreamRequest(call.label);
  const started = performance.now();
  const response = await upstream.request('POST', incoming.path, incoming.headers, sent, record);
  const type = String(response.headers['content-type'] ?? '');
  if (response.statusCode < 200 || response.statusCode >= 300 || !type.includes('text/event-stream')) {
    throw new PassThrough(await upstream.read(response, record));
  }
  const push = Upstream.push(response, {
    onChunk: (chunk) => recorder.push(chunk),
    onEnd: () => {
      recorder.end();
      if (record) record.upstreamMs = performance.now() - started;
    },
  });
  return { push, meta: { status: response.statusCode, headers: response.headers } };
}

/** Stores a stream that ended cleanly and completely; the flight stays joinable until the write lands. */
function store<V extends StoredAnswer>(
  outcome: FlightOutcome<Uint8Array>,
  recorder: SseRecorder,
  started: number,
  spec: StreamSpec<V>,
  commit: Extract<Lookup<V>, { hit: false }>['commit'],
): Promise<boolean> | undefined {
  if (outcome.status !== 'done') return undefined;
  const recorded = spec.record(recorder, Math.round(performance.now() - started));
  if (typeof recorded === 'string') return undefined;
  return commit(recorded.value, recorded.metadata ? { metadata: recorded.metadata } : undefined);
}
