import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { LlmemoError } from '@llmemo/core';
import { ChatModelCache, type ChatModelCalls } from './chat-model-cache.js';
import { type ChatCacheOptions, resolveChatOptions } from './options.js';

export type WithCacheOptions = ChatCacheOptions;

/** Marks a cached model; holds the model it was made from and the cache it uses. */
const CACHED = Symbol.for('llmemo.langchain.withCache');

interface CachedState {
  base: BaseChatModel;
  cache: ChatModelCache;
}

type AnyChatModel = BaseChatModel & Record<PropertyKey, unknown>;

function isChatModel(value: unknown): value is BaseChatModel {
  // Duck-typed: the model may come from another copy of @langchain/core than this package's.
  const model = value as Partial<BaseChatModel> | null;
  return (
    typeof model === 'object' &&
    model !== null &&
    typeof model._generate === 'function' &&
    typeof model._modelType === 'function' &&
    model._modelType() === 'base_chat_model' &&
    typeof model._getSerializedCacheKeyParametersForCall === 'function'
  );
}

/**
 * True when `model` overrides `method` of BaseChatModel: more than one object on its prototype chain defines it
 * (the root one being BaseChatModel's default). Compared this way, not against our BaseChatModel import, because
 * the model may come from another copy of @langchain/core.
 */
function overrides(model: object, method: string): boolean {
  let owners = 0;
  for (let object: object | null = model; object !== null; object = Object.getPrototypeOf(object)) {
    if (Object.hasOwn(object, method)) owners++;
  }
  return owners > 1;
}

function define(target: object, name: PropertyKey, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * Builds the cached model: an object whose prototype is the model itself, with the three output methods replaced.
 *
 * Not a delegating BaseChatModel subclass, for two reasons found in @langchain/openai: `ChatOpenAI.withConfig`
 * (and so `bindTools` and `withStructuredOutput`) returns `new ChatOpenAI(this.fields)` carrying the bound options
 * in `defaultOptions`, which only its own `invoke`/`stream` merge in; calling such a model's `_generate` from a
 * wrapper silently drops its tools. Inheriting from the instance keeps every method, field and type of the model
 * (`instanceof ChatOpenAI` holds), and the options travel as they do without a cache.
 */
function cachedModel<M extends BaseChatModel>(base: M, cache: ChatModelCache): M {
  const model = Object.create(base) as M & AnyChatModel;
  const calls: ChatModelCalls = {
    generate: (messages, options, runManager) => base._generate(messages, options, runManager),
    streamChunks: (messages, options, runManager) => base._streamResponseChunks(messages, options, runManager),
    streamEvents: (messages, options, runManager) => base._streamChatModelEvents(messages, options, runManager),
  };
  define(model, CACHED, { base, cache } satisfies CachedState);
  define(model, '_generate', function (this: BaseChatModel, ...args: Parameters<BaseChatModel['_generate']>) {
    return cache.generate(this, calls, ...args);
  });
  // Only where the model streams natively: BaseChatModel falls back to invoke() when these are its defaults, and a
  // replacement would make it believe the model streams.
  const streamsChunks = overrides(base, '_streamResponseChunks');
  if (streamsChunks) {
    define(
      model,
      '_streamResponseChunks',
      function (this: BaseChatModel, ...args: Parameters<BaseChatModel['_streamResponseChunks']>) {
        return cache.streamChunks(this, calls, ...args);
      },
    );
  }
  if (streamsChunks || overrides(base, '_streamChatModelEvents')) {
    define(
      model,
      '_streamChatModelEvents',
      function (this: BaseChatModel, ...args: Parameters<BaseChatModel['_streamChatModelEvents']>) {
        return cache.streamEvents(this, calls, ...args);
      },
    );
  }
  // Models that build a new instance to bind options (ChatOpenAI) get the new one cached too; models that return a
  // RunnableBinding over `this` already route through this object.
  define(model, 'withConfig', function (this: BaseChatModel, ...args: Parameters<BaseChatModel['withConfig']>) {
    return rewrap(base.withConfig.apply(this, args), cache);
  });
  if (typeof base.bindTools === 'function') {
    const bindTools = base.bindTools;
    define(
      model,
      'bindTools',
      function (this: BaseChatModel, ...args: Parameters<NonNullable<BaseChatModel['bindTools']>>) {
        return rewrap(bindTools.apply(this, args), cache);
      },
    );
  }
  return model;
}

function rewrap<T>(result: T, cache: ChatModelCache): T {
  if (isChatModel(result) && !(CACHED in result)) return cachedModel(result, cache) as T;
  return result;
}

/**
 * Returns `model` with llmemo caching on every path: `invoke`, `batch`, `generate`, `.stream()`, `streamEvents()`
 * (both the content-block protocol and v2), and the token streaming LangGraph does inside a graph. Keys on the full
 * messages, images and files included, plus the model's cleaned settings and bound options (tools, response
 * format). Streams are recorded as they flow and stored only when they end cleanly; a hit replays the recorded
 * chunks, token callbacks included.
 *
 * The result is the same kind of model (`instanceof` holds; `bindTools`, `withStructuredOutput` and `withConfig`
 * return cached models), so it drops into createAgent, LangGraph nodes and chains unchanged.
 */
export function withCache<M extends BaseChatModel>(model: M, options: WithCacheOptions): M {
  if (!isChatModel(model)) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      'withCache(model, options) takes a LangChain chat model (a BaseChatModel such as ChatOpenAI), before bindTools or withConfig: withCache(model, { cache }).bindTools(tools). For a BaseLLM, pass `cache: new LlmemoCache({ cache })` to its constructor.',
    );
  }
  if (typeof (model as AnyChatModel)._getModelInstance === 'function') {
    // initChatModel's ConfigurableModel hands invoke and stream to a model it builds per call: nothing here would
    // ever run, and the calls would go uncached without a word.
    throw new LlmemoError(
      'INVALID_OPTIONS',
      "withCache cannot cache initChatModel's configurable model, which builds the real model per call. Pass `cache: new LlmemoCache({ cache })` in initChatModel's params, or wrap the concrete model: withCache(new ChatOpenAI(...), { cache }).",
    );
  }
  const resolved = resolveChatOptions(options, 'withCache');
  const state = (model as AnyChatModel)[CACHED] as CachedState | undefined;
  // Caching a cached model again replaces its settings rather than stacking two caches.
  const base = (state?.base ?? model) as M;
  return cachedModel(base, new ChatModelCache(resolved, resolved.policy, resolved.scope, resolved.tools));
}
