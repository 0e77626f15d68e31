import type { Lookup } from '@llmemo/core';
import type { Answer } from './answer.js';
import { cacheHeaders, isObject, type Json, jsonAnswer, type ProxyContext, paramsOf } from './context.js';
import type { Directives } from './directives.js';
import { failure } from './forward.js';
import { parseBody, toJson } from './json-body.js';
import { bypassed, type Incoming, incomingOf, plan, readRequestBody } from './prepare.js';
import type { ProxyRequest } from './request.js';
import { cacheRequest, type KeyScope } from './request-key.js';
import { PassThrough, type UpstreamReply } from './upstream.js';

/**
 * One cached input's vector, in the form the upstream sent it: float numbers, or base64 of little-endian float32
 * (what the official clients ask for). Either form is served as the other on request, exactly: the numbers are
 * float32 values either way.
 */
export interface EmbeddingValue {
  embedding: number[] | string;
  /** The model the upstream reported. */
  model?: string;
  /** This input's share of the upstream call's time. */
  ms: number;
}

/** Not part of the key: the encoding is converted on the way out. */
const WIRE_FIELDS = ['model', 'input', 'encoding_format'];

/** The inputs of a request, one per cache entry; undefined when `input` is not a shape the API accepts. */
function inputsOf(input: unknown): { items: unknown[]; single: boolean } | undefined {
  if (typeof input === 'string') return { items: [input], single: true };
  if (!Array.isArray(input) || input.length === 0) return undefined;
  // A flat array of numbers is one tokenized input, not many.
  if (input.every((item) => typeof item === 'number')) return { items: [input], single: true };
  if (input.every((item) => typeof item === 'string' || (Array.isArray(item) && item.every(Number.isFinite)))) {
    return { items: input, single: false };
  }
  return undefined;
}

export function toBase64(embedding: number[] | string): string {
  if (typeof embedding === 'string') return embedding;
  const buffer = Buffer.alloc(embedding.length * 4);
  for (const [index, value] of embedding.entries()) buffer.writeFloatLE(value, index * 4);
  return buffer.toString('base64');
}

export function toFloats(embedding: number[] | string): number[] {
  if (typeof embedding !== 'string') return embedding;
  const buffer = Buffer.from(embedding, 'base64');
  const out = new Array<number>(buffer.length >> 2);
  for (let index = 0; index < out.length; index++) out[index] = buffer.readFloatLE(index * 4);
  return out;
}

function validEmbedding(value: unknown): value is number[] | string {
  return typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'number'));
}

type Missed = Extract<Lookup<EmbeddingValue>, { hit: false }>;

/** Inputs that missed and share one entry (identical inputs in one batch go upstream once). */
interface Group {
  item: unknown;
  at: number[];
  lookup: Missed;
}

/** The cached vectors in the order asked, and the distinct misses to fetch. */
function grouped(items: unknown[], lookups: Lookup<EmbeddingValue>[]) {
  const vectors: (EmbeddingValue | undefined)[] = lookups.map((lookup) => (lookup.hit ? lookup.value : undefined));
  const missing = new Map<string, Group>();
  let oldest = 0;
  for (const [at, lookup] of lookups.entries()) {
    if (lookup.hit) {
      oldest = Math.max(oldest, lookup.age);
      continue;
    }
    const key = lookup.key ?? `#${at}`;
    const group = missing.get(key);
    if (group) group.at.push(at);
    else missing.set(key, { item: items[at], at: [at], lookup });
  }
  const groups = [...missing.values()];
  const hits = items.length - groups.reduce((sum, group) => sum + group.at.length, 0);
  return { vectors, groups, oldest, hits };
}

/** The upstream's answer for the misses, taken apart per input. */
interface Fetched {
  reply: UpstreamReply;
  byIndex: Map<number, unknown>;
  usage: Json;
  responseModel: string | undefined;
  /** Each input's share of the call's time. */
  ms: number;
}

/** One upstream request for every miss; an answer that cannot be taken apart passes through untouched. */
async function fetchMisses(
  context: ProxyContext,
  req: ProxyRequest,
  incoming: Incoming,
  sent: string | Uint8Array,
  count: number,
): Promise<Fetched> {
  const started = performance.now();
  context.metrics.upstreamRequest('embeddings');
  const reply = await context.upstream.reply('POST', incoming.path, incoming.headers, sent, req.record);
  if (!reply.ok) throw new PassThrough(reply);
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.text());
  } catch {
    throw new PassThrough(reply);
  }
  const data = isObject(parsed) && Array.isArray(parsed.data) ? (parsed.data as unknown[]) : [];
  const byIndex = new Map<number, unknown>();
  for (const [position, item] of data.entries()) {
    if (isObject(item)) byIndex.set(typeof item.index === 'number' ? item.index : position, item.embedding);
  }
  if (byIndex.size !== count || ![...byIndex.values()].every(validEmbedding)) throw new PassThrough(reply);
  const body = parsed as Json;
  return {
    reply,
    byIndex,
    usage: isObject(body.usage) ? body.usage : { prompt_tokens: 0, total_tokens: 0 },
    responseModel: typeof body.model === 'string' ? body.model : undefined,
    ms: (performance.now() - started) / count,
  };
}

/** Fills the answer's gaps with the fetched vectors and stores each one under its input's entry. */
function commitMisses(groups: Group[], fetched: Fetched, vectors: (EmbeddingValue | undefined)[]): void {
  const { byIndex, responseModel, ms } = fetched;
  const tokens = apportion(
    fetched.usage.prompt_tokens,
    groups.map((group) => JSON.stringify(group.item).length),
  );
  for (const [index, group] of groups.entries()) {
    const value: EmbeddingValue = { embedding: byIndex.get(index) as number[] | string, ms };
    if (responseModel !== undefined) value.model = responseModel;
    for (const at of group.at) vectors[at] = value;
    const metadata = { usage: { inputTokens: tokens[index] ?? 0 }, ...(responseModel && { responseModel }) };
    void group.lookup.commit(value, { metadata });
  }
}

/** A keyable embeddings request the cache may answer. */
interface Batch {
  incoming: Incoming;
  raw: Uint8Array;
  body: Json;
  inputs: { items: unknown[]; single: boolean };
  model: string;
  directives: Directives;
}

/** One lookup per input, all at once. */
function lookupInputs(
  context: ProxyContext,
  batch: Batch,
  params: Json,
  scope: KeyScope,
): Promise<Lookup<EmbeddingValue>[]> {
  return Promise.all(
    batch.inputs.items.map((item) =>
      context.cache.lookup<EmbeddingValue>(
        cacheRequest(context, 'embedding', batch.model, item, params, scope),
        batch.directives,
      ),
    ),
  );
}

/** Answers from the cache what it holds, fetches and stores the rest, and puts the answer together. */
async function answerBatch(
  context: ProxyContext,
  req: ProxyRequest,
  batch: Batch,
  lookups: Lookup<EmbeddingValue>[],
): Promise<Answer> {
  const { incoming, raw, body, inputs, directives } = batch;
  const { vectors, groups, oldest, hits } = grouped(inputs.items, lookups);
  context.metrics.hit(
    'embeddings',
    lookups.reduce((sum, l) => sum + (l.hit ? l.value.ms : 0), 0),
    hits,
  );
  context.metrics.miss('embeddings', groups.length);

  let usage: Json = { prompt_tokens: 0, total_tokens: 0 };
  let responseModel: string | undefined;
  if (groups.length > 0) {
    // When every input missed, once each, the client's own bytes go upstream and its answer comes back as is.
    const whole = groups.length === inputs.items.length;
    const sent = whole
      ? raw
      : toJson({ ...body, input: inputs.single ? body.input : groups.map((group) => group.item) });
    const fetched = await fetchMisses(context, req, incoming, sent, groups.length);
    commitMisses(groups, fetched, vectors);
    ({ usage, responseModel } = fetched);
    if (whole) {
      return fetched.reply.toAnswer({
        ...cacheHeaders('MISS', { key: single(lookups), namespace: directives.namespace }),
        'x-llmemo-hits': `0/${inputs.items.length}`,
      });
    }
  }
  const answered = responseModel ?? vectors.find((value) => value?.model)?.model ?? batch.model;
  const answer = listOf(vectors as EmbeddingValue[], body.encoding_format === 'base64', answered, usage);
  const status = groups.length === 0 ? 'HIT' : 'MISS';
  return jsonAnswer(answer, {
    ...cacheHeaders(status, {
      key: single(lookups),
      namespace: directives.namespace,
      ...(status === 'HIT' && { age: oldest }),
    }),
    'x-llmemo-hits': `${hits}/${inputs.items.length}`,
  });
}

/**
 * POST /v1/embeddings, cached per input: only the inputs not in the cache go upstream (once each, in one request),
 * and the answer is put back together in the order asked. `usage` counts the tokens this request spent upstream,
 * so a full hit reports 0.
 */
export async function embeddings(context: ProxyContext, req: ProxyRequest): Promise<Answer> {
  const incoming = incomingOf(req);
  const raw = await readRequestBody(req, context);
  const parsed = parseBody(raw);
  const body = parsed.body;
  const pass = (reason: string) =>
    bypassed(context, req, 'embeddings', isObject(body) ? body.model : undefined, incoming, raw, reason);
  const endpoint = context.options.endpoints.embeddings;
  if (!endpoint) return pass('endpoint-off');
  if (parsed.unkeyable !== undefined) return pass(parsed.unkeyable);
  const inputs = isObject(body) && typeof body.model === 'string' ? inputsOf(body.input) : undefined;
  if (!isObject(body) || !inputs) return pass('unkeyable');
  const planned = await plan(context, req, endpoint, incoming);
  if (planned.bypass !== undefined) return pass(planned.bypass);
  const { directives, scope } = planned;
  const batch: Batch = { incoming, raw, body, inputs, model: body.model as string, directives };
  const params = paramsOf(body, WIRE_FIELDS, context.options.ignoreParams);
  try {
    const lookups = await lookupInputs(context, batch, params, scope);
    try {
      return await answerBatch(context, req, batch, lookups);
    } finally {
      // The misses not committed (an upstream failure, a client that went away, an input repeated in the batch)
      // end here, so a store swap need not wait for them. Commits were issued synchronously, so none is undone.
      for (const lookup of lookups) if (!lookup.hit) lookup.release();
    }
  } catch (error) {
    return failure(context, error);
  }
}

/** The OpenAI list answer, each vector in the encoding the client asked for. */
function listOf(vectors: EmbeddingValue[], base64: boolean, model: string, usage: Json): Json {
  return {
    object: 'list',
    data: vectors.map((value, index) => ({
      object: 'embedding',
      index,
      embedding: base64 ? toBase64(value.embedding) : toFloats(value.embedding),
    })),
    model,
    usage,
  };
}

/** The key of a one-input request (a batch has one key per input, so none is reported). */
function single(lookups: Lookup<EmbeddingValue>[]): string | undefined {
  return lookups.length === 1 ? lookups[0]!.key : undefined;
}

/** Splits a batch's token count over its inputs by size, for each entry's usage metadata (tokens saved). */
function apportion(total: unknown, sizes: number[]): number[] {
  if (typeof total !== 'number' || total <= 0) return sizes.map(() => 0);
  const sum = sizes.reduce((a, b) => a + b, 0) || 1;
  const shares = sizes.map((size) => Math.floor((total * size) / sum));
  shares[shares.length - 1]! += total - shares.reduce((a, b) => a + b, 0);
  return shares;
}
