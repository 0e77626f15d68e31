import {
  type CacheMode,
  type Duration,
  LlmemoError,
  type ResolvedCallOptions,
  type ResponseCache,
  resolveCallOptions,
  resolveStoreToolCalls,
  type StoreToolCalls,
  type ToolCallPolicy,
} from '@llmemo/core';
import { type LlmKeyPolicy, type ResolvedLlmKeyPolicy, resolveLlmKeyPolicy } from './llm-key.js';

/** Options shared by LlmemoCache, withCache and CachedEmbeddings. */
export interface CacheBinding {
  /** The llmemo cache to use (`createCache(...)` from @llmemo/core). */
  cache: ResponseCache;
  /** Overrides the cache's namespace for this model: one per tenant, app or environment. */
  namespace?: string;
  /** Overrides the cache's TTL: ms, '90s', '1h', '7d', or null for no expiry. */
  ttl?: Duration | null;
  /** Overrides the cache's mode: 'read-write', 'read-only', 'refresh', 'replay' or 'off'. */
  mode?: CacheMode;
  /**
   * Errors the adapter detects itself (an entry that is not LangChain generations, a value it cannot serialize).
   * Store errors arrive as the cache's own `error` events. Either way the call goes on without the cache.
   */
  onError?: (error: LlmemoError) => void;
}

/** Options of LlmemoCache and withCache: a binding plus how the llmKey is cleaned. */
export interface ChatCacheOptions extends CacheBinding {
  /** Which llmKey entries stay out of the key (see DEFAULT_DROPPED_LLM_KEY_ENTRIES). */
  llmKey?: LlmKeyPolicy;
  /**
   * Names where the model's requests go when that cannot be seen, so two such models never share an entry. withCache
   * reads the endpoint from the model (base URL, Azure deployment, instance, endpoint and api-version, Anthropic's
   * API URL, Google's base URL and API version) and needs this only for what no field shows: a custom `fetch` or
   * client factory that reroutes. LlmemoCache only sees LangChain's llmKey, which for AzureChatOpenAI, ChatAnthropic
   * and ChatGoogleGenerativeAI leaves the endpoint out: it does not cache those models unless `scope` names their
   * endpoint (one LlmemoCache per endpoint then). Credentials never belong here.
   */
  scope?: string;
  /**
   * Whether answers that ask the app to run a tool are stored: `true` (default) like any answer, `false` never, a
   * list of tool names never when the answer calls one of them. A replayed answer makes the app (an agent, a
   * LangGraph ToolNode) run its tools again, so keep out the ones with side effects. A `skip` event
   * (NOT_CACHEABLE) names the reason; a stream with such a call is not stored.
   */
  storeToolCalls?: StoreToolCalls;
}

export interface ResolvedBinding {
  cache: ResponseCache;
  call: ResolvedCallOptions;
  /** What to pass core per call: nothing when the binding only repeats the cache's defaults (core skips resolving). */
  overrides: Partial<ResolvedCallOptions>;
  onError: (error: LlmemoError) => void;
}

const BINDING_OPTIONS = ['cache', 'namespace', 'ttl', 'mode', 'onError'];

function invalid(message: string): LlmemoError {
  return new LlmemoError('INVALID_OPTIONS', message);
}

function isResponseCache(value: unknown): value is ResponseCache {
  // Duck-typed: an app can load two copies of @llmemo/core (ESM and CJS), and instanceof would reject one.
  const cache = value as Partial<ResponseCache> | null;
  return (
    typeof cache === 'object' &&
    cache !== null &&
    typeof cache.lookup === 'function' &&
    typeof cache.getOrCompute === 'function' &&
    typeof cache.set === 'function' &&
    typeof cache.defaults === 'object'
  );
}

function stringArray(value: unknown, option: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw invalid(`${option} must be an array of entry names (strings).`);
  }
  return value;
}

/** Validates the shared options; throws LlmemoError INVALID_OPTIONS naming the option and what to pass. */
export function resolveBinding(options: unknown, owner: string, extra: readonly string[] = []): ResolvedBinding {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${owner} takes an options object: { cache: createCache(...) }.`);
  }
  const record = options as Record<string, unknown>;
  const known = [...BINDING_OPTIONS, ...extra];
  for (const name of Object.keys(record)) {
    if (!known.includes(name)) {
      throw invalid(`${owner} has no option '${name}'; the options are ${known.map((n) => `'${n}'`).join(', ')}.`);
    }
  }
  if (!isResponseCache(record.cache)) {
    throw invalid(
      `${owner} needs { cache }: a cache from @llmemo/core, e.g. cache: createCache({ store: 'sqlite://.llmemo/cache.sqlite' }).`,
    );
  }
  if (record.onError !== undefined && typeof record.onError !== 'function') {
    throw invalid(`${owner} option onError must be a function (error) => void.`);
  }
  const cache = record.cache;
  const call = resolveCallOptions(
    { mode: record.mode as CacheMode, ttl: record.ttl as Duration, namespace: record.namespace as string },
    cache.defaults,
    `${owner} options`,
  );
  const listener = record.onError as ((error: LlmemoError) => void) | undefined;
  const onError = (error: LlmemoError) => {
    try {
      listener?.(error);
    } catch {
      // A throwing listener must not turn a fail-open report into a failure.
    }
  };
  const d = cache.defaults;
  const same = call.mode === d.mode && call.ttl === d.ttl && call.namespace === d.namespace && !call.noStore;
  return { cache, call, overrides: same ? {} : call, onError };
}

export function resolveChatOptions(
  options: unknown,
  owner: string,
): ResolvedBinding & { policy: ResolvedLlmKeyPolicy; scope: string | undefined; tools: ToolCallPolicy } {
  const binding = resolveBinding(options, owner, ['llmKey', 'scope', 'storeToolCalls']);
  const tools = resolveStoreToolCalls((options as { storeToolCalls?: unknown }).storeToolCalls, owner);
  const scope = (options as { scope?: unknown }).scope;
  if (scope !== undefined && (typeof scope !== 'string' || scope.length === 0)) {
    throw invalid(
      `${owner} option scope must be a non-empty string naming where the model's requests go (a deployment, endpoint or gateway); got ${JSON.stringify(scope)}.`,
    );
  }
  const llmKey = (options as { llmKey?: unknown }).llmKey;
  if (llmKey !== undefined && (llmKey === null || typeof llmKey !== 'object' || Array.isArray(llmKey))) {
    throw invalid(`${owner} option llmKey must be an object { drop?: string[], keep?: string[] }.`);
  }
  const record = (llmKey ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (name !== 'drop' && name !== 'keep') {
      throw invalid(`${owner} option llmKey has no field '${name}'; use 'drop' and 'keep'.`);
    }
  }
  const policy = resolveLlmKeyPolicy({
    drop: stringArray(record.drop, `${owner} option llmKey.drop`),
    keep: stringArray(record.keep, `${owner} option llmKey.keep`),
  });
  return { ...binding, policy, scope: scope as string | undefined, tools };
}

/** Wraps anything thrown into an LlmemoError for onError, keeping LlmemoErrors as they are. */
export function asLlmemoError(error: unknown, code: LlmemoError['code'], message: string): LlmemoError {
  if (error instanceof LlmemoError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new LlmemoError(code, `${message}: ${detail}`, { cause: error });
}
