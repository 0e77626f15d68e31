import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { AIMessage, type AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { FakeLLM } from '@langchain/core/utils/testing';
import { LlmemoError } from '@llmemo/core';
import { initChatModel } from 'langchain';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as z3 from 'zod/v3';
import { LlmemoCache, withCache } from '../src/index.js';
import { CHAT_PATH, chatModel, errorSink, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'weather',
  description: 'Weather for a city',
  schema: z.object({ city: z.string() }),
});
const person = z.object({ name: z.string(), age: z.number() });

describe.each(['sqlite', 'redis'] as const)('LlmemoCache with ChatOpenAI on %s', (kind) => {
  async function setup(fields: Parameters<typeof chatModel>[1] = {}) {
    const cache = await makeCache(kind);
    const llmemo = new LlmemoCache({ cache });
    return { cache, llmemo, model: chatModel(ctx.server, { cache: llmemo, ...fields }) };
  }

  it('invoke: the second identical call is a hit with a fresh AIMessage, zero usage and LangChain callbacks', async () => {
    const { model, cache } = await setup();
    const first = await model.invoke('hello there');
    const ends: Record<string, unknown>[] = [];
    const starts: string[] = [];
    const handler = BaseCallbackHandler.fromMethods({
      handleChatModelStart: async () => {
        starts.push('start');
      },
      handleLLMEnd: async (_output, _runId, _parent, _tags, extra) => {
        ends.push(extra ?? {});
      },
    });
    const second = await model.invoke('hello there', { callbacks: [handler] });

    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(second).toBeInstanceOf(AIMessage);
    expect(second.content).toBe('Echo: hello there');
    expect(second.content).toBe(first.content);
    expect(second.usage_metadata).toEqual({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });
    expect(second.response_metadata.llmemo).toMatchObject({ hit: true });
    expect(second.response_metadata.model_name).toBe(first.response_metadata.model_name);
    // A hit is a new reply: a new object and a new id (LangGraph's reducer replaces messages by id).
    expect(second).not.toBe(first);
    expect(second.id).toMatch(/^run-/);
    expect(second.id).not.toBe(first.id);
    // LangChain's InMemoryCache aliasing bug zeroes the first result's usage on a hit; a serializing cache cannot.
    expect(first.usage_metadata).toMatchObject({ input_tokens: 2, output_tokens: 3, total_tokens: 5 });
    // One start per call on a hit (langchainjs PR #7565), and the end flagged as cached (PR #3392).
    expect(starts).toEqual(['start']);
    expect(ends).toEqual([{ cached: true }]);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, tokensSaved: { input: 2, output: 3 } });
  });

  it('batch: each prompt is cached on its own', async () => {
    const { model } = await setup();
    expect((await model.batch(['one', 'two'])).map((m) => m.content)).toEqual(['Echo: one', 'Echo: two']);
    expect((await model.batch(['two', 'three', 'one'])).map((m) => m.content)).toEqual([
      'Echo: two',
      'Echo: three',
      'Echo: one',
    ]);
    expect(ctx.server.count(CHAT_PATH)).toBe(3);
  });

  it('bindTools: tool calls round-trip, and a different tool set never gets them', async () => {
    const { model } = await setup();
    ctx.server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' }, id: 'call_1' }] });
    const bound = model.bindTools([weather]);
    const first = (await bound.invoke('weather in Oslo?')) as AIMessageChunk;
    const second = (await bound.invoke('weather in Oslo?')) as AIMessageChunk;
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(second.tool_calls).toEqual(first.tool_calls);
    expect(second.tool_calls).toMatchObject([{ name: 'weather', args: { city: 'Oslo' }, id: 'call_1' }]);
    expect(second.additional_kwargs.tool_calls).toEqual(first.additional_kwargs.tool_calls);

    // Same prompt, other tools: a cache reducing the llmKey to the model name (MongoDBAtlasSemanticCache,
    // BetterDB's adapter) would return the weather call here.
    const other = tool(async () => 'x', { name: 'clock', description: 'The time', schema: z.object({}) });
    ctx.server.script({ text: 'no tools needed' });
    expect((await model.bindTools([other]).invoke('weather in Oslo?')).content).toBe('no tools needed');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('withStructuredOutput (json_schema, zod 4): the second call hits and parses', async () => {
    const { model } = await setup();
    ctx.server.script({ json: { name: 'Ada', age: 36 } });
    const structured = model.withStructuredOutput(person);
    expect(await structured.invoke('who?')).toEqual({ name: 'Ada', age: 36 });
    expect(await structured.invoke('who?')).toEqual({ name: 'Ada', age: 36 });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    // includeRaw: the raw message of a hit is a real AIMessage (LangChain Python #29003 returned a bare Generation).
    const raw = await model.withStructuredOutput(person, { includeRaw: true }).invoke('who?');
    expect(raw.parsed).toEqual({ name: 'Ada', age: 36 });
    expect(raw.raw).toBeInstanceOf(AIMessage);
  });

  it('withStructuredOutput with a zod v3 schema: its _cached field mutates after parsing, yet call 2 hits', async () => {
    const { model } = await setup();
    ctx.server.script({ json: { name: 'Ada', age: 36 } });
    const schema = z3.object({ name: z3.string(), age: z3.number() });
    const structured = model.withStructuredOutput(schema);
    for (let i = 0; i < 3; i++) expect(await structured.invoke('who?')).toEqual({ name: 'Ada', age: 36 });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it('JSON mode bound with withConfig hits (langchainjs#3686)', async () => {
    const { model } = await setup();
    const json = model.withConfig({ response_format: { type: 'json_object' } });
    const first = await json.invoke('give json');
    const second = await json.invoke('give json');
    expect(JSON.parse(second.content as string)).toEqual(JSON.parse(first.content as string));
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    // …and it is a different entry from the plain-text answer.
    await model.invoke('give json');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('survives API-key rotation, and never stores the key', async () => {
    const cache = await makeCache(kind);
    const llmemo = new LlmemoCache({ cache });
    await chatModel(ctx.server, { apiKey: 'sk-OLD-SECRET-1111', cache: llmemo }).invoke('rotate me');
    const rotated = await chatModel(ctx.server, { apiKey: 'sk-NEW-SECRET-2222', cache: llmemo }).invoke('rotate me');
    expect(rotated.response_metadata.llmemo).toMatchObject({ hit: true });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    const key = llmemo.key('Human: rotate me', 'apiKey:"sk-OLD-SECRET-1111",model:"gpt-4o-mini"');
    expect(key).not.toContain('SECRET');
    const stored = await cache.store.get(cache.key(llmemo.request('Human: rotate me', probeKey(ctx.server.url))));
    expect(stored).toBeDefined();
    expect(stored).not.toContain('SECRET');
    expect(stored).not.toContain('apiKey');
  });

  it('works through initChatModel, which forwards `cache` to the model it builds', async () => {
    const cache = await makeCache(kind);
    const model = await initChatModel('openai:gpt-4o-mini', {
      apiKey: 'test',
      maxRetries: 0,
      configuration: { baseURL: ctx.server.url },
      cache: new LlmemoCache({ cache }),
    });
    await model.invoke('universal');
    expect((await model.invoke('universal')).response_metadata.llmemo).toMatchObject({ hit: true });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it('hits with and without an abort signal or a timeout', async () => {
    const { model } = await setup();
    await model.invoke('signal me');
    await model.invoke('signal me', { signal: new AbortController().signal });
    await model.invoke('signal me', { timeout: 10_000 });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it('different tool results in the history are different entries', async () => {
    const { model } = await setup();
    const history = (result: string) => [
      new HumanMessage('weather?'),
      new AIMessage({ content: '', tool_calls: [{ name: 'weather', args: { city: 'Oslo' }, id: 'c1' }] }),
      new ToolMessage({ content: result, tool_call_id: 'c1' }),
    ];
    await model.invoke(history('sunny'));
    await model.invoke(history('rainy'));
    await model.invoke(history('sunny'));
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });
});

/** The llmKey ChatOpenAI builds for a plain invoke against this server (to find the stored entry). */
function probeKey(baseURL: string): string {
  return [
    '_model:"base_chat_model"',
    '_type:"openai"',
    `baseURL:"${baseURL}"`,
    'dangerouslyAllowBrowser:true',
    'model:"gpt-4o-mini"',
    'model_name:"gpt-4o-mini"',
    'stream:false',
  ].join(',');
}

describe('LlmemoCache options, modes and failures', () => {
  it('rejects bad options with INVALID_OPTIONS at construction', async () => {
    const cache = await makeCache('memory');
    expect(() => new LlmemoCache(undefined as never)).toThrow(LlmemoError);
    expect(() => new LlmemoCache({} as never)).toThrow(/needs \{ cache \}/);
    expect(() => new LlmemoCache({ cache, mode: 'sometimes' as never })).toThrow(/mode must be one of/);
    expect(() => new LlmemoCache({ cache, ttl: 'forever' as never })).toThrow(LlmemoError);
    expect(() => new LlmemoCache({ cache, namespace: '' })).toThrow(/namespace/);
    expect(() => new LlmemoCache({ cache, colour: 'red' } as never)).toThrow(/no option 'colour'/);
    expect(() => new LlmemoCache({ cache, llmKey: { drop: 'signal' } as never })).toThrow(/llmKey.drop/);
    expect(() => new LlmemoCache({ cache, llmKey: { ignore: [] } as never })).toThrow(/no field 'ignore'/);
    try {
      new LlmemoCache({ cache, mode: 'x' as never });
    } catch (error) {
      expect((error as LlmemoError).code).toBe('INVALID_OPTIONS');
    }
  });

  it('lookup is null on a miss, and on an empty or corrupt entry (never [], which crashes LangChain)', async () => {
    const cache = await makeCache('memory');
    const { errors, onError } = errorSink();
    const llmemo = new LlmemoCache({ cache, onError });
    const llmKey = '_type:"openai",model:"m"';
    expect(await llmemo.lookup('Human: x', llmKey)).toBeNull();

    await cache.set(llmemo.request('Human: x', llmKey), { generations: [] });
    expect(await llmemo.lookup('Human: x', llmKey)).toBeNull();
    await cache.set(llmemo.request('Human: x', llmKey), { generations: [{ text: 1 }] });
    expect(await llmemo.lookup('Human: x', llmKey)).toBeNull();
    await cache.set(llmemo.request('Human: x', llmKey), 'not generations');
    expect(await llmemo.lookup('Human: x', llmKey)).toBeNull();
    expect(errors.map((e) => e.code)).toEqual(['CORRUPT_ENTRY', 'CORRUPT_ENTRY', 'CORRUPT_ENTRY']);

    // The unreadable entry was deleted, so the next write repairs it.
    await cache.flush();
    expect(await cache.get(llmemo.request('Human: x', llmKey))).toBeUndefined();
  });

  it('invoke succeeds through a corrupt entry and repairs it', async () => {
    const cache = await makeCache('sqlite');
    const { errors, onError } = errorSink();
    const llmemo = new LlmemoCache({ cache, onError });
    const model = chatModel(ctx.server, { cache: llmemo });
    await cache.set(llmemo.request('Human: fix me', probeKey(ctx.server.url)), { generations: [] });
    expect((await model.invoke('fix me')).content).toBe('Echo: fix me');
    expect(errors).toHaveLength(1);
    expect((await model.invoke('fix me')).response_metadata.llmemo).toMatchObject({ hit: true });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it('fails open: a broken store never rejects invoke (lookup and update errors)', async () => {
    const broken = {
      get: async () => {
        throw new Error('store down');
      },
      set: async () => {
        throw new Error('store down');
      },
      delete: async () => false,
      clear: async () => {},
    };
    const cache = await makeCache('memory', { store: broken as never, timeoutMs: 50 });
    const storeErrors: string[] = [];
    cache.on('error', (event) => storeErrors.push(event.operation));
    const model = chatModel(ctx.server, { cache: new LlmemoCache({ cache }) });
    expect((await model.invoke('still works')).content).toBe('Echo: still works');
    expect((await model.invoke('still works')).content).toBe('Echo: still works');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
    expect(storeErrors).toContain('get');
    expect(storeErrors).toContain('set');
  });

  it('an update that cannot serialize its value is reported, not thrown', async () => {
    const cache = await makeCache('memory');
    const { errors, onError } = errorSink();
    const llmemo = new LlmemoCache({ cache, onError });
    const throwing = {
      text: 'x',
      message: {
        toDict: () => {
          throw new Error('no dict');
        },
      },
    };
    await expect(llmemo.update('Human: p', '_type:"t",model:"m"', [throwing as never])).resolves.toBeUndefined();
    expect(errors.at(-1)?.code).toBe('UNSERIALIZABLE_VALUE');
  });

  it('namespaces keep tenants apart', async () => {
    const cache = await makeCache('redis');
    const acme = chatModel(ctx.server, { cache: new LlmemoCache({ cache, namespace: `${cache.namespace}-acme` }) });
    const globex = chatModel(ctx.server, { cache: new LlmemoCache({ cache, namespace: `${cache.namespace}-globex` }) });
    await acme.invoke('tenant');
    await globex.invoke('tenant');
    await acme.invoke('tenant');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('TTL: an expired entry is a miss', async () => {
    const cache = await makeCache('sqlite');
    const model = chatModel(ctx.server, { cache: new LlmemoCache({ cache, ttl: 60 }) });
    await model.invoke('short lived');
    await new Promise((resolve) => setTimeout(resolve, 120));
    await model.invoke('short lived');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it("modes: 'read-only' never writes, 'refresh' rewrites, 'off' bypasses, 'replay' never calls the provider", async () => {
    const cache = await makeCache('memory');
    const readOnly = chatModel(ctx.server, { cache: new LlmemoCache({ cache, mode: 'read-only' }) });
    await readOnly.invoke('mode');
    await readOnly.invoke('mode');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);

    const refresh = chatModel(ctx.server, { cache: new LlmemoCache({ cache, mode: 'refresh' }) });
    ctx.server.script({ text: 'fresh answer' });
    await refresh.invoke('mode');
    expect(ctx.server.count(CHAT_PATH)).toBe(3);

    const readWrite = chatModel(ctx.server, { cache: new LlmemoCache({ cache }) });
    expect((await readWrite.invoke('mode')).content).toBe('fresh answer');
    expect(ctx.server.count(CHAT_PATH)).toBe(3);

    const off = chatModel(ctx.server, { cache: new LlmemoCache({ cache, mode: 'off' }) });
    await off.invoke('mode');
    expect(ctx.server.count(CHAT_PATH)).toBe(4);

    const replay = chatModel(ctx.server, { cache: new LlmemoCache({ cache, mode: 'replay' }) });
    expect((await replay.invoke('mode')).content).toBe('fresh answer');
    await expect(replay.invoke('never recorded')).rejects.toMatchObject({ code: 'CACHE_MISS' });
    expect(ctx.server.count(CHAT_PATH)).toBe(4);
  });

  it('llmKey.keep and llmKey.drop change what splits entries', async () => {
    const cache = await makeCache('memory');
    // `store` is dropped by default (LangGraph passes its BaseStore); OpenAI also has a `store` request option.
    const byDefault = chatModel(ctx.server, { cache: new LlmemoCache({ cache, namespace: 'default' }) });
    await byDefault.invoke('t', { store: true } as never);
    await byDefault.invoke('t', { store: false } as never);
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    const keepStore = chatModel(ctx.server, {
      cache: new LlmemoCache({ cache, namespace: 'keep', llmKey: { keep: ['store'] } }),
    });
    await keepStore.invoke('t', { store: true } as never);
    await keepStore.invoke('t', { store: false } as never);
    expect(ctx.server.count(CHAT_PATH)).toBe(3);

    const dropTemperature = new LlmemoCache({ cache, namespace: 'drop', llmKey: { drop: ['temperature'] } });
    await chatModel(ctx.server, { cache: dropTemperature, temperature: 0 }).invoke('t');
    await chatModel(ctx.server, { cache: dropTemperature, temperature: 1 }).invoke('t');
    expect(ctx.server.count(CHAT_PATH)).toBe(4);
  });

  it('sampling settings split entries by default', async () => {
    const cache = await makeCache('memory');
    const llmemo = new LlmemoCache({ cache });
    await chatModel(ctx.server, { cache: llmemo, temperature: 0 }).invoke('t');
    await chatModel(ctx.server, { cache: llmemo, temperature: 1 }).invoke('t');
    await chatModel(ctx.server, { cache: llmemo, model: 'gpt-4o' }).invoke('t');
    await chatModel(ctx.server, { cache: llmemo, temperature: 0 }).invoke('t');
    expect(ctx.server.count(CHAT_PATH)).toBe(3);
  });

  it('makeDefaultKeyEncoder is honoured: the app decides what identifies a call', async () => {
    const cache = await makeCache('memory');
    const llmemo = new LlmemoCache({ cache });
    // An encoder that ignores settings: any temperature shares the prompt's entry.
    llmemo.makeDefaultKeyEncoder((prompt) => prompt);
    await chatModel(ctx.server, { cache: llmemo, temperature: 0 }).invoke('enc');
    await chatModel(ctx.server, { cache: llmemo, temperature: 1 }).invoke('enc');
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it('caches a text LLM (BaseLLM) too: text generations, no message', async () => {
    let calls = 0;
    class CountingLLM extends FakeLLM {
      // FakeLLM's llmKey names no model, and LlmemoCache does not cache such keys.
      override _identifyingParams() {
        return { model: 'counting-llm' };
      }
      override async _call(prompt: string): Promise<string> {
        calls++;
        return `completed: ${prompt}`;
      }
    }
    const llm = new CountingLLM({ cache: new LlmemoCache({ cache: await makeCache('sqlite') }) });
    expect(await llm.invoke('once upon a time')).toBe('completed: once upon a time');
    expect(await llm.invoke('once upon a time')).toBe('completed: once upon a time');
    expect(calls).toBe(1);
  });

  it('an llmKey in no known format names no model: never cached, a skip event says why', async () => {
    const cache = await makeCache('memory');
    const llmemo = new LlmemoCache({ cache });
    const skips: string[] = [];
    cache.on('skip', (event) => skips.push(event.reason));
    await llmemo.update('p', 'not an llmKey', [{ text: 'a' }]);
    expect(await llmemo.lookup('p', 'not an llmKey')).toBeNull();
    expect(skips).toHaveLength(2);
    expect(skips[0]).toMatch(/names no model.*withCache/);
    expect(cache.stats().writes).toBe(0);
  });

  it('documented limit: the prompt string cannot tell message boundaries apart; withCache can', async () => {
    ctx.server.script((request) => ({ text: `${request.messages.length} messages` }));
    const cache = await makeCache('memory');
    const two = [new HumanMessage('a'), new HumanMessage('b')];
    const one = [new HumanMessage('a\nHuman: b')];
    const viaBaseCache = chatModel(ctx.server, { cache: new LlmemoCache({ cache }) });
    expect((await viaBaseCache.invoke(two)).content).toBe('2 messages');
    // getBufferString gives both 'Human: a\nHuman: b': LlmemoCache serves the first answer (README, Limits).
    expect((await viaBaseCache.invoke(one)).content).toBe('2 messages');
    const cached = withCache(chatModel(ctx.server), { cache });
    expect((await cached.invoke(two)).content).toBe('2 messages');
    expect((await cached.invoke(one)).content).toBe('1 messages');
  });
});
