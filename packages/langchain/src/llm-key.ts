/**
 * LangChain's `llmKey`: what `BaseLanguageModel._getSerializedCacheKeyParametersForCall` builds from the model's
 * identifying params and the call options, as `name:JSON` entries, sorted, joined with commas. Everything that
 * reaches `invoke(input, options)` lands in it verbatim: the API key, an AbortSignal (as `{}`), LangGraph's
 * per-execution `executionInfo`, zod internals that mutate between calls. Hashed as is, it splits the cache on
 * every one of those; stored as is, it leaks the key. This module turns it into stable, secret-free params.
 */

/** Entries that never change what the provider answers: transport, tracing, LangGraph runtime, stream plumbing. */
export const DEFAULT_DROPPED_LLM_KEY_ENTRIES: readonly string[] = Object.freeze([
  // Transport and retries (an AbortSignal serializes as {}, so a call with one never met a call without).
  'signal',
  'timeout',
  'maxRetries',
  'maxConcurrency',
  // Runnable config that older or custom code paths can leak into call options.
  'callbacks',
  'tags',
  'metadata',
  'runName',
  'runId',
  'configurable',
  'recursionLimit',
  // The index of a prompt within one generate() batch.
  'promptIndex',
  // LangGraph's per-task runtime config (packages/langgraph src/pregel/utils/config.ts CONFIG_KEYS); executionInfo
  // holds a fresh checkpoint id and timestamp for every run, so with it no graph or createAgent call ever hits.
  'executionInfo',
  'control',
  'interrupt',
  'writer',
  'store',
  'context',
  'heartbeat',
  'serverInfo',
  'streamMode',
  'outputKeys',
  'interruptBefore',
  'interruptAfter',
  'checkpointDuring',
  'durability',
  // streamEvents(…, { version: 'v2', encoding }) forwarded through a chain's config.
  'version',
  'encoding',
]);

/** Entry names that carry credentials. Matched case- and separator-insensitively, plus any name ending in `apikey`. */
const SECRET_NAMES = new Set([
  'authorization',
  'accesstoken',
  'accesskeyid',
  'secretaccesskey',
  'sessiontoken',
  'bearertoken',
  'authtoken',
  'apitoken',
  'credentials',
  'password',
  'clientsecret',
  'privatekey',
  'secret',
]);

/** Verdicts by exact name: withCache checks every settings field of every call, and models have a few dozen. */
const secretVerdicts = new Map<string, boolean>();

/** True for names such as `apiKey`, `openAIApiKey`, `azure_openai_api_key`, `authorization`, `credentials`. */
export function isSecretName(name: string): boolean {
  const known = secretVerdicts.get(name);
  if (known !== undefined) return known;
  const folded = name.toLowerCase().replace(/[-_]/g, '');
  const secret = folded.endsWith('apikey') || SECRET_NAMES.has(folded);
  if (secretVerdicts.size >= 1024) secretVerdicts.clear();
  secretVerdicts.set(name, secret);
  return secret;
}

/**
 * Splits an llmKey into `[name, raw JSON text]` pairs; undefined when the text is not in that format.
 *
 * Hand-written because a value's JSON may itself hold `,` and `:` (tools, schemas, response formats): entries are
 * only separated by a comma that follows a complete JSON value. The literal `undefined` is what JSON.stringify
 * gives for functions (`fetch:undefined`), so it is accepted as a value.
 */
export function splitLlmKey(text: string): [string, string][] | undefined {
  const entries: [string, string][] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return entries;
  while (i < n) {
    const colon = text.indexOf(':', i);
    if (colon === -1) return undefined;
    const name = text.slice(i, colon);
    if (name.length === 0 || name.includes(',')) return undefined;
    const end = scanValue(text, colon + 1);
    if (end === -1) return undefined;
    entries.push([name, text.slice(colon + 1, end)]);
    if (end === n) break;
    if (text.charCodeAt(end) !== 44 /* , */) return undefined;
    i = end + 1;
    if (i === n) return undefined;
  }
  return entries;
}

/** Returns the index just past the JSON value (or `undefined`) starting at `start`, or -1. */
function scanValue(text: string, start: number): number {
  const first = text[start];
  if (first === undefined) return -1;
  if (first === '"') return scanString(text, start);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        i = scanString(text, i) - 1;
        if (i < 0) return -1;
      } else if (c === '{' || c === '[') {
        depth++;
      } else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number, true, false, null or undefined: runs to the next entry separator.
  const comma = text.indexOf(',', start);
  return comma === -1 ? text.length : comma;
}

function scanString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 34 /* " */) return i + 1;
  }
  return -1;
}

/**
 * Removes zod v3's lazily filled `_cached` field (null before the first parse, the shape after it), so the
 * schema LangChain puts in `response_format` serializes the same on every call. Zod 4 schemas serialize stably.
 */
function stabilizeZod(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stabilizeZod);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const zodV3 = '_def' in object && '_cached' in object;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) {
    if (zodV3 && key === '_cached') continue;
    out[key] = stabilizeZod(item);
  }
  return out;
}

/** What to leave out of the key beyond the defaults, or keep although it is a default. */
export interface LlmKeyPolicy {
  /** More entry names to leave out of the key (exact names). */
  drop?: readonly string[];
  /** Default-dropped entry names to keep in the key after all, e.g. 'timeout'. */
  keep?: readonly string[];
}

export interface ResolvedLlmKeyPolicy {
  dropped: ReadonlySet<string>;
  kept: ReadonlySet<string>;
}

export function resolveLlmKeyPolicy(policy: LlmKeyPolicy | undefined): ResolvedLlmKeyPolicy {
  const kept = new Set(policy?.keep ?? []);
  const dropped = new Set([...DEFAULT_DROPPED_LLM_KEY_ENTRIES, ...(policy?.drop ?? [])]);
  for (const name of kept) dropped.delete(name);
  return { dropped, kept };
}

/** The model an llmKey describes, and the params that go into the cache key. */
export interface ModelCall {
  /** `_type` from the llmKey, e.g. 'openai'. */
  provider: string;
  /** `model` / `model_name` / `modelName` from the llmKey, or 'unknown'. */
  model: string;
  params: Record<string, unknown>;
}

const MODEL_FIELDS = ['model', 'model_name', 'modelName', 'modelId', 'model_id'];

/**
 * Parses and cleans an llmKey: what LlmemoCache and withCache key a call on. A key that is not in LangChain's
 * format (a custom model overriding the method) is kept whole as one opaque param: still correct, just not cleaned.
 */
export function describeLlmKey(llmKey: string, policy?: LlmKeyPolicy): ModelCall {
  return readLlmKey(llmKey, resolveLlmKeyPolicy(policy));
}

function readLlmKey(llmKey: string, policy: ResolvedLlmKeyPolicy): ModelCall {
  const entries = splitLlmKey(llmKey);
  const parsed = entries && parseEntries(entries, policy);
  if (!parsed) return { provider: 'unknown', model: 'unknown', params: { llmKey } };
  const provider = typeof parsed._type === 'string' ? parsed._type : 'unknown';
  let model = 'unknown';
  for (const field of MODEL_FIELDS) {
    const value = parsed[field];
    if (typeof value === 'string' && value.length > 0) {
      model = value;
      break;
    }
  }
  return { provider, model, params: parsed };
}

function parseEntries(entries: [string, string][], policy: ResolvedLlmKeyPolicy): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = {};
  for (const [name, raw] of entries) {
    if (raw === 'undefined') continue;
    if (policy.dropped.has(name)) continue;
    if (!policy.kept.has(name) && isSecretName(name)) continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (raw.includes('"_cached"')) value = stabilizeZod(value);
    if (name === 'defaultHeaders' || name === 'headers') {
      // Core keeps only the allowlisted headers of a param named `headers` (credentials often ride in headers).
      params.headers = { ...(params.headers as object | undefined), ...(value as object | null) };
      continue;
    }
    params[name] = value;
  }
  return params;
}

/** Freezes parsed JSON (plain objects and arrays) all the way down. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * Memoizes describeLlmKey: one model instance produces the same llmKey on every call, so the hit path parses it
 * once. Bounded, since keys differ per tool set, schema and call options.
 */
export class LlmKeyReader {
  private readonly memo = new Map<string, ModelCall>();

  constructor(
    readonly policy: ResolvedLlmKeyPolicy,
    private readonly capacity = 256,
  ) {}

  read(llmKey: string): ModelCall {
    const known = this.memo.get(llmKey);
    if (known) return known;
    // Shared by every call with this llmKey, so frozen: nobody can change another call's key, and core walks
    // deeply frozen params once (see writeParams in @llmemo/core).
    const call = deepFreeze(readLlmKey(llmKey, this.policy));
    if (this.memo.size >= this.capacity) this.memo.delete(this.memo.keys().next().value!);
    this.memo.set(llmKey, call);
    return call;
  }
}
