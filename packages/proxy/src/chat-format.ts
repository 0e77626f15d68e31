import type { EntryMetadata } from '@llmemo/core';

type Json = Record<string, unknown>;

/**
 * A cached chat completion, kept in the form it arrived in, so a hit in the same form is replayed exactly: the
 * JSON body, or the stream's `data:` payloads (each byte for byte) with their arrival offsets. A request in the
 * other form is served by converting (see `eventsToCompletion` and `completionToEvents`); `ms` is how long the
 * upstream took, which is the latency a hit saves.
 */
export type ChatValue =
  | { format: 'json'; body: Json; ms: number }
  | {
      format: 'sse';
      events: string[];
      offsets: number[];
      usage: boolean;
      ms: number;
      /**
       * The completion the events add up to, assembled once when recorded: a plain request then costs no
       * re-assembly on every hit, and the completion is small next to the events (each repeats the envelope).
       */
      completion?: Json;
    };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function hasUsage(value: ChatValue): boolean {
  return value.format === 'sse' ? value.usage : isObject(value.body.usage);
}

/**
 * Whether an entry can answer a request: a non-streamed request, or a stream with
 * `stream_options.include_usage`, expects usage, which a stream recorded without it cannot give. Such a hit is
 * treated as a miss, and the fresh answer (with usage) replaces the entry.
 */
export function satisfies(value: ChatValue, wantsUsage: boolean): boolean {
  return !wantsUsage || hasUsage(value);
}

export function chatMetadata(usage: unknown, model: unknown): EntryMetadata {
  const metadata: EntryMetadata = {};
  if (typeof model === 'string') metadata.responseModel = model;
  if (isObject(usage)) {
    const tokens: NonNullable<EntryMetadata['usage']> = {};
    if (typeof usage.prompt_tokens === 'number') tokens.inputTokens = usage.prompt_tokens;
    if (typeof usage.completion_tokens === 'number') tokens.outputTokens = usage.completion_tokens;
    metadata.usage = tokens;
  }
  return metadata;
}

/**
 * Why a finish reason keeps an answer out of the cache: `error` is a failed generation (some gateways report
 * failures this way, with a 200), and `content_filter` a cut-off one that the next try may not repeat.
 */
export function refusedFinish(reason: string, cacheContentFilter: boolean): string | undefined {
  if (reason === 'error') return 'a choice finished with an error';
  if (reason === 'content_filter' && !cacheContentFilter) {
    return 'a choice was stopped by the content filter (cacheContentFilter stores those)';
  }
  return undefined;
}

/** `true` for a complete, successful completion; otherwise why it must not be cached. */
export function checkCompletion(body: unknown, cacheContentFilter = false): true | string {
  if (!isObject(body)) return 'the upstream answer is not a JSON object';
  if (body.error !== undefined && body.error !== null) return 'the upstream answer carries an error';
  const choices = body.choices;
  if (!Array.isArray(choices) || choices.length === 0) return 'the upstream answer has no choices';
  for (const choice of choices) {
    if (!isObject(choice) || typeof choice.finish_reason !== 'string') return 'a choice has no finish_reason';
    const refused = refusedFinish(choice.finish_reason, cacheContentFilter);
    if (refused) return refused;
  }
  return true;
}

export interface StreamVerdict {
  complete: boolean;
  reason?: string;
  usage?: Json;
  model?: string;
}

const FINISHED = /"finish_reason"\s*:\s*"/;
const USAGE = /"usage"\s*:\s*\{/;
const ERROR = /"error"\s*:/;

/** Whether an event must be parsed for the stream's verdict: only these can carry a finish_reason, usage or error. */
export function mayDecide(event: string): boolean {
  return FINISHED.test(event) || USAGE.test(event) || ERROR.test(event);
}

/** Not JSON: what `parse` hands a StreamCheck for an event JSON.parse refused. */
export const NOT_JSON: unique symbol = Symbol('not JSON');

/** The verdict on a recorded stream, event by event (see checkStream). */
export class StreamCheck {
  private readonly finished = new Set<number>();
  private usage: Json | undefined;
  private model: string | undefined;
  /** Why the stream must not be stored, once an event decided it. */
  failure: string | undefined;

  constructor(
    private readonly choices: number,
    private readonly cacheContentFilter: boolean,
  ) {}

  /** One event, parsed (or NOT_JSON); false once the stream is refused. */
  add(chunk: unknown): boolean {
    if (chunk === NOT_JSON) return this.fail('a stream event is not JSON');
    if (!isObject(chunk)) return this.fail('a stream event is not a JSON object');
    if (chunk.error !== undefined && chunk.error !== null) return this.fail('the stream carried an error');
    if (this.model === undefined && typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model;
    if (isObject(chunk.usage)) this.usage = chunk.usage;
    if (!Array.isArray(chunk.choices)) return true;
    for (const choice of chunk.choices) {
      if (isObject(choice) && typeof choice.finish_reason === 'string') {
        const refused = refusedFinish(choice.finish_reason, this.cacheContentFilter);
        if (refused) return this.fail(refused);
        this.finished.add(typeof choice.index === 'number' ? choice.index : 0);
      }
    }
    return true;
  }

  private fail(reason: string): false {
    this.failure = reason;
    return false;
  }

  verdict(events: number): StreamVerdict {
    if (this.failure !== undefined) return { complete: false, reason: this.failure };
    if (events === 0) return { complete: false, reason: 'the stream has no events' };
    if (this.finished.size < this.choices) {
      const missing = this.choices - this.finished.size;
      return { complete: false, reason: `${missing} of ${this.choices} choices ended without a finish_reason` };
    }
    const verdict: StreamVerdict = { complete: true };
    if (this.usage) verdict.usage = this.usage;
    if (this.model) verdict.model = this.model;
    return verdict;
  }
}

/** Why a stream cannot be stored before any event is looked at, if it cannot. */
export function streamRefused(done: boolean, namedEvents: boolean): string | undefined {
  if (!done) return 'the stream ended without [DONE]';
  if (namedEvents) return 'the stream has named events, not a chat completion stream';
  return undefined;
}

export function parseEvent(event: string): unknown {
  try {
    return JSON.parse(event);
  } catch {
    return NOT_JSON;
  }
}

/**
 * A recorded stream is stored only if it reached `[DONE]`, each of the `choices` asked for (`n`) finished, and no
 * event was an error. Only the events that can carry a finish_reason, usage or an error are parsed (and the first,
 * for the model): this runs on every streamed miss, and a long answer has thousands of plain deltas.
 */
export function checkStream(
  events: readonly string[],
  done: boolean,
  namedEvents: boolean,
  choices = 1,
  cacheContentFilter = false,
): StreamVerdict {
  const refused = streamRefused(done, namedEvents);
  if (refused !== undefined) return { complete: false, reason: refused };
  const check = new StreamCheck(choices, cacheContentFilter);
  for (const [position, event] of events.entries()) {
    if (position > 0 && !mayDecide(event)) continue;
    if (!check.add(parseEvent(event))) break;
  }
  return check.verdict(events.length);
}

interface Assembled {
  index: number;
  message: Json;
  toolCalls: Json[];
  logprobs: Json | null;
  finishReason: unknown;
}

/** Appends a delta's string or array to what is there; anything else replaces it. */
function merge(target: Json, name: string, value: unknown): void {
  const current = target[name];
  if (typeof value === 'string' && typeof current === 'string') target[name] = current + value;
  else if (Array.isArray(value) && Array.isArray(current)) target[name] = [...current, ...value];
  else if (value !== null || current === undefined) target[name] = value;
}

/** The completion a stored value answers a plain request with. */
export function completionOf(value: ChatValue): Json {
  if (value.format === 'json') return value.body;
  return value.completion ?? eventsToCompletion(value.events);
}

/** Adds one tool-call delta to the calls assembled so far (by index; the name and arguments arrive in pieces). */
function addToolCall(toolCalls: Json[], part: Json): void {
  const at = typeof part.index === 'number' ? part.index : toolCalls.length;
  let call = toolCalls[at];
  if (!call) {
    call = { id: '', type: 'function', function: { name: '', arguments: '' } };
    toolCalls[at] = call;
  }
  if (typeof part.id === 'string') call.id = part.id;
  if (typeof part.type === 'string') call.type = part.type;
  const fn = isObject(part.function) ? part.function : {};
  const target = call.function as Json;
  for (const [key, piece] of Object.entries(fn)) merge(target, key, piece);
}

/** Adds one chunk's choice (its delta, logprobs and finish reason) to the choice assembled so far. */
function addChoice(assembled: Assembled, choice: Json): void {
  const delta = isObject(choice.delta) ? choice.delta : {};
  for (const [name, value] of Object.entries(delta)) {
    if (name === 'tool_calls' && Array.isArray(value)) {
      for (const part of value as Json[]) addToolCall(assembled.toolCalls, part);
    } else if (name === 'role') {
      if (typeof value === 'string') assembled.message.role = value;
    } else if (name === 'content' && assembled.message.content === null) {
      assembled.message.content = value;
    } else {
      merge(assembled.message, name, value);
    }
  }
  if (isObject(choice.logprobs)) {
    assembled.logprobs ??= {};
    for (const [name, value] of Object.entries(choice.logprobs)) merge(assembled.logprobs, name, value);
  }
  if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
    assembled.finishReason = choice.finish_reason;
  }
}

/** Adds parsed stream chunks up to the `chat.completion` they make (see eventsToCompletion). */
export class CompletionAssembly {
  private readonly choices = new Map<number, Assembled>();
  private first: Json | undefined;
  private usage: unknown;

  add(chunk: Json): void {
    this.first ??= chunk;
    if (isObject(chunk.usage)) this.usage = chunk.usage;
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices as Json[]) this.addChoice(choice);
  }

  addChoice(choice: Json): void {
    addChoice(this.assembled(choice.index), choice);
  }

  /** What addChoice does with `{ index, delta: { content }, logprobs: null, finish_reason: null }`. */
  addContent(index: unknown, content: string): void {
    const { message } = this.assembled(index);
    if (message.content === null) message.content = content;
    else merge(message, 'content', content);
  }

  private assembled(at: unknown): Assembled {
    const index = typeof at === 'number' ? at : 0;
    let assembled = this.choices.get(index);
    if (!assembled) {
      assembled = {
        index,
        message: { role: 'assistant', content: null },
        toolCalls: [],
        logprobs: null,
        finishReason: null,
      };
      this.choices.set(index, assembled);
    }
    return assembled;
  }

  completion(): Json {
    const first = this.first ?? {};
    const completion: Json = {
      id: first.id,
      object: 'chat.completion',
      created: first.created,
      model: first.model,
      choices: [...this.choices.values()]
        .sort((a, b) => a.index - b.index)
        .map(({ index, message, toolCalls, logprobs, finishReason }) => ({
          index,
          message: toolCalls.length > 0 ? { ...message, tool_calls: toolCalls.filter(Boolean) } : message,
          logprobs,
          finish_reason: finishReason,
        })),
    };
    if (this.usage !== undefined) completion.usage = this.usage;
    if (first.service_tier !== undefined) completion.service_tier = first.service_tier;
    if (first.system_fingerprint !== undefined) completion.system_fingerprint = first.system_fingerprint;
    return completion;
  }
}

/** The `chat.completion` a recorded stream adds up to: deltas concatenated, tool calls assembled by index. */
export function eventsToCompletion(events: readonly string[]): Json {
  const assembly = new CompletionAssembly();
  for (const event of events) {
    // Not JSON (a comment or a keep-alive): not part of the answer.
    const chunk = parseEvent(event);
    if (isObject(chunk)) assembly.add(chunk);
  }
  return assembly.completion();
}

/**
 * The stream a completion would have arrived as, in OpenAI's order: a role delta, the reasoning, the content (one
 * delta: the split into tokens is not known), tool calls, an empty delta with the finish_reason, and with
 * `include_usage` a final usage chunk with no choices (every other chunk then has `usage: null`).
 */
export function completionToEvents(body: Json, includeUsage: boolean): string[] {
  const base: Json = { id: body.id, object: 'chat.completion.chunk', created: body.created, model: body.model };
  if (body.service_tier !== undefined) base.service_tier = body.service_tier;
  if (body.system_fingerprint !== undefined) base.system_fingerprint = body.system_fingerprint;
  const events: string[] = [];
  const chunk = (index: number, delta: Json, finishReason: unknown = null, logprobs: unknown = null) => {
    const out: Json = { ...base, choices: [{ index, delta, logprobs, finish_reason: finishReason }] };
    if (includeUsage) out.usage = null;
    events.push(JSON.stringify(out));
  };
  const choices = Array.isArray(body.choices) ? (body.choices as Json[]) : [];
  for (const choice of choices) {
    const index = typeof choice.index === 'number' ? choice.index : 0;
    const message = isObject(choice.message) ? choice.message : {};
    const { role = 'assistant', content = null, refusal = null, tool_calls: toolCalls, ...rest } = message;
    const calls = Array.isArray(toolCalls) ? (toolCalls as Json[]) : [];
    chunk(index, { role, content: typeof content === 'string' ? '' : null, refusal: null });
    for (const [name, value] of Object.entries(rest)) {
      if (value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0)) {
        chunk(index, { [name]: value });
      }
    }
    if (typeof content === 'string' && content !== '') chunk(index, { content }, null, choice.logprobs ?? null);
    if (typeof refusal === 'string' && refusal !== '') chunk(index, { refusal });
    for (const [at, call] of calls.entries()) {
      chunk(index, {
        tool_calls: [{ index: at, id: call.id, type: call.type ?? 'function', function: call.function }],
      });
    }
    chunk(index, {}, choice.finish_reason ?? 'stop');
  }
  if (includeUsage && isObject(body.usage)) events.push(JSON.stringify({ ...base, choices: [], usage: body.usage }));
  return events;
}
