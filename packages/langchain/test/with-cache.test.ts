import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { AIMessage, type AIMessageChunk, HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { ChatOpenAI } from '@langchain/openai';
import { LlmemoError } from '@llmemo/core';
import { initChatModel } from 'langchain';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LlmemoCache, withCache } from '../src/index.js';
import { CHAT_PATH, ChunkyChatModel, chatModel, collect, errorSink, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'weather',
  description: 'Weather for a city',
  schema: z.object({ city: z.string() }),
});

/** Counts the token callbacks a run receives. */
function tokenCounter() {
  const tokens: string[] = [];
  const handler = BaseCallbackHandler.fromMethods({
    handleLLMNewToken: async (token) => {
      tokens.push(token);
    },
  });
  return { tokens, handler };
}

function textOf(chunks: AIMessageChunk[]): string {
  return chunks.map((chunk) => chunk.text).join('');
}

describe.each(['sqlite', 'redis'] as const)('withCache(ChatOpenAI) on %s', (kind) => {
  async function cached(fields: Parameters<typeof chatModel>[1] = {}) {
    const cache = await makeCache(kind);
    return { cache, model: withCache(chatModel(ctx.server, fields), { cache }) };
  }

  it('is still a ChatOpenAI, and invoke hits with a fresh message', async () => {
    const { model, cache } = await cached();
    expect(model).toBeInstanceOf(ChatOpenAI);
    expect(model.model).toBe('gpt-4o-mini');
    const first = await model.invoke('hello wrapper');
    const second = await model.invoke('hello wrapper');
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(second).toBeInstanceOf(AIMessage);
    expect(second.content).toBe(first.content);
    expect(second.usage_metadata).toEqual({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });
    expect(first.usage_metadata).toMatchObject({ input_tokens: 2, output_tokens: 3 });
    expect(second.response_metadata.llmemo).toMatchObject({ hit: true });
    expect(first.response_metadata.llmemo).toBeUndefined();
    // A hit is a new reply with a new id (the run's, as LangChain gives any reply without a provider id).
    expect(second.id).toMatch(/^run-/);
    expect(second.id).not.toBe(first.id);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, tokensSaved: { input: 2, output: 3 } });
  });

  it('batch hits per prompt', async () => {
    const { model } = await cached();
    await model.batch(['a', 'b']);
    const again = await model.batch(['b', 'c', 'a']);
    expect(again.map((m) => m.content)).toEqual(['Echo: b', 'Echo: c', 'Echo: a']);
    expect(ctx.server.count(CHAT_PATH)).toBe(3);
  });

  it('stream: records the chunks, then replays them (text, usage, finish metadata) without the provider', async () => {
    const { model, cache } = await cached();
    const first = await collect(await model.stream('stream me please'));
    const second = await collect(await model.stream('stream me please'));
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(textOf(second)).toBe('Echo: stream me please');
    expect(second.map((chunk) => chunk.text)).toEqual(first.map((chunk) => chunk.text));
    expect(second.length).toBeGreaterThan(3);
    const usageChunk = second.find((chunk) => chunk.usage_metadata);
    expect(usageChunk?.usage_metadata).toEqual({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });
    expect(first.find((chunk) => chunk.usage_metadata)?.usage_metadata).toMatchObject({ output_tokens: 4 });
    expect(cache.stats().tokensSaved).toEqual({ input: 3, output: 4 });
    const aggregated = second.reduce((sum, chunk) => sum.concat(chunk));
    expect(aggregated.response_metadata).toMatchObject({ finish_reason: 'stop', llmemo: { hit: true } });
    // Every replayed chunk carries the run's id, as LangChain assigns to id-less chunks.
    expect(new Set(second.map((chunk) => chunk.id)).size).toBe(1);
    expect(second[0]?.id).toMatch(/^run-/);
  });

  it('stream and invoke keep separate entries', async () => {
    const { model } = await cached();
    await collect(await model.stream('both ways'));
    await model.invoke('both ways');
    await model.invoke('both ways');
    await collect(await model.stream('both ways'));
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('stream with tools: tool_call_chunks replay into the same tool calls', async () => {
    const { model } = await cached();
    ctx.server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' }, id: 'call_7' }] });
    const bound = model.bindTools([weather]);
    const first = await collect(await bound.stream('weather in Oslo?'));
    const second = await collect(await bound.stream('weather in Oslo?'));
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(second.some((chunk) => chunk.tool_call_chunks?.length)).toBe(true);
    const aggregate = (chunks: AIMessageChunk[]) => chunks.reduce((sum, chunk) => sum.concat(chunk));
    expect(aggregate(second).tool_calls).toEqual(aggregate(first).tool_calls);
    expect(aggregate(second).tool_calls).toMatchObject([{ name: 'weather', args: { city: 'Oslo' }, id: 'call_7' }]);
  });

  it('a hit fires a token callback per chunk, as the live stream did (LangChain Python #9762)', async () => {
    const { model } = await cached();
    const miss = tokenCounter();
    await collect(await model.stream('tokens for everyone', { callbacks: [miss.handler] }));
    const hit = tokenCounter();
    await collect(await model.stream('tokens for everyone', { callbacks: [hit.handler] }));
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(hit.tokens).toEqual(miss.tokens);
    expect(hit.tokens.length).toBeGreaterThan(3);
  });

  it('streamEvents() (content-block protocol) is recorded and replayed', async () => {
    const { model } = await cached();
    const first = await model.streamEvents('events please');
    const events: string[] = [];
    for await (const event of model.streamEvents('events please')) events.push(event.event);
    const second = await model.streamEvents('events please');
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(second.text).toBe(first.text);
    expect(second.text).toBe('Echo: events please');
    expect(events).toContain('message-start');
    expect(events.at(-1)).toBe('message-finish');
    expect(second.usage_metadata).toMatchObject({ input_tokens: 0, output_tokens: 0 });
  });

  it('streamEvents v2 on a hit streams on_chat_model_stream events (langgraphjs#1229)', async () => {
    const { model } = await cached();
    const count = async () => {
      let n = 0;
      for await (const event of model.streamEvents('v2 events', { version: 'v2' })) {
        if (event.event === 'on_chat_model_stream') n++;
      }
      return n;
    };
    const live = await count();
    const replayed = await count();
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(replayed).toBe(live);
    expect(replayed).toBeGreaterThan(2);
  });

  it('bindTools sends the tools and caches the tool call', async () => {
    const { model } = await cached();
    ctx.server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Rome' } }] });
    const bound = model.bindTools([weather]);
    const first = await bound.invoke('weather in Rome?');
    const second = await bound.invoke('weather in Rome?');
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect((ctx.server.requests[0]!.body as { tools?: unknown[] }).tools).toHaveLength(1);
    expect(second.tool_calls).toEqual(first.tool_calls);
    // Without the tools it is another request.
    await model.invoke('weather in Rome?');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('withStructuredOutput (json_schema and function calling) hits on the second call', async () => {
    const { model } = await cached();
    const person = z.object({ name: z.string(), age: z.number() });
    ctx.server.script({ json: { name: 'Ada', age: 36 } });
    const structured = model.withStructuredOutput(person);
    expect(await structured.invoke('who?')).toEqual({ name: 'Ada', age: 36 });
    expect(await structured.invoke('who?')).toEqual({ name: 'Ada', age: 36 });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);

    ctx.server.script({ toolCalls: [{ name: 'extract', arguments: { name: 'Alan', age: 41 } }] });
    const viaTools = model.withStructuredOutput(person, { method: 'functionCalling' });
    expect(await viaTools.invoke('who?')).toEqual({ name: 'Alan', age: 41 });
    expect(await viaTools.invoke('who?')).toEqual({ name: 'Alan', age: 41 });
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('keys on images: same text with another image is another entry (langchainjs#10092, #6024)', async () => {
    const { model, cache } = await cached();
    const ask = (base64: string) =>
      new HumanMessage({
        content: [
          { type: 'text', text: 'describe' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } },
        ],
      });
    ctx.server.enqueue({ text: 'a red square' }, { text: 'a blue circle' });
    expect((await model.invoke([ask('cmVkIHNxdWFyZQ==')])).content).toBe('a red square');
    expect((await model.invoke([ask('Ymx1ZSBjaXJjbGU=')])).content).toBe('a blue circle');
    expect((await model.invoke([ask('cmVkIHNxdWFyZQ==')])).content).toBe('a red square');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);

    // The BaseCache path only ever sees "Human: describe\n[image]": it cannot tell the two apart.
    const viaBaseCache = chatModel(ctx.server, { cache: new LlmemoCache({ cache, namespace: 'basecache' }) });
    ctx.server.enqueue({ text: 'a red square' });
    await viaBaseCache.invoke([ask('cmVkIHNxdWFyZQ==')]);
    expect((await viaBaseCache.invoke([ask('Ymx1ZSBjaXJjbGU=')])).content).toBe('a red square');
  });

  it('hits across API-key rotation and with or without an abort signal', async () => {
    const cache = await makeCache(kind);
    await withCache(chatModel(ctx.server, { apiKey: 'sk-one' }), { cache }).invoke('rotate');
    const rotated = withCache(chatModel(ctx.server, { apiKey: 'sk-two' }), { cache });
    await rotated.invoke('rotate', { signal: new AbortController().signal });
    await collect(await rotated.stream('rotate'));
    await collect(await rotated.stream('rotate', { signal: new AbortController().signal }));
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });
});

describe('withCache: streams are stored only when they end cleanly', () => {
  it('a stream cut by the network is not stored', async () => {
    const model = withCache(chatModel(ctx.server), { cache: await makeCache('memory') });
    ctx.server.cutNextStream({ afterChunks: 3 });
    await expect(collect(await model.stream('one two three four'))).rejects.toThrow();
    const whole = await collect(await model.stream('one two three four'));
    expect(textOf(whole)).toBe('Echo: one two three four');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('a stream the consumer stops reading is not stored', async () => {
    const model = withCache(chatModel(ctx.server), { cache: await makeCache('memory') });
    for await (const _chunk of await model.stream('stop early please')) break;
    expect(textOf(await collect(await model.stream('stop early please')))).toBe('Echo: stop early please');
    await collect(await model.stream('stop early please'));
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('an aborted stream is not stored', async () => {
    const model = withCache(chatModel(ctx.server), { cache: await makeCache('memory') });
    ctx.server.setLatency({ perTokenMs: 20 });
    const controller = new AbortController();
    const stream = await model.stream('abort me now please', { signal: controller.signal });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) {
          seen.push(chunk.text);
          if (seen.length === 2) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    ctx.server.setLatency({});
    expect(textOf(await collect(await model.stream('abort me now please')))).toBe('Echo: abort me now please');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('a streamEvents() run that fails is not stored', async () => {
    const model = withCache(chatModel(ctx.server), { cache: await makeCache('memory') });
    ctx.server.cutNextStream({ afterChunks: 2 });
    await expect(model.streamEvents('cut events')).rejects.toThrow();
    expect((await model.streamEvents('cut events')).text).toBe('Echo: cut events');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });
});

describe('withCache: behaviour beyond LangChain built-in caches', () => {
  it('identical concurrent calls share one provider call', async () => {
    const model = withCache(chatModel(ctx.server), { cache: await makeCache('memory') });
    ctx.server.setLatency({ responseMs: 50 });
    const results = await Promise.all([model.invoke('together'), model.invoke('together'), model.invoke('together')]);
    expect(results.map((m) => m.content)).toEqual(['Echo: together', 'Echo: together', 'Echo: together']);
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it('generate() with one cached and one new prompt returns both (the BaseCache path loses one, §2.7.6)', async () => {
    const cache = await makeCache('memory');
    const model = withCache(chatModel(ctx.server), { cache });
    await model.invoke('A');
    const result = await model.generate([[new HumanMessage('B')], [new HumanMessage('A')]]);
    expect(result.generations.map((g) => g[0]?.text)).toEqual(['Echo: B', 'Echo: A']);

    const viaBaseCache = chatModel(ctx.server, { cache: new LlmemoCache({ cache, namespace: 'basecache' }) });
    await viaBaseCache.invoke('A');
    const broken = await viaBaseCache.generate([[new HumanMessage('B')], [new HumanMessage('A')]]);
    // LangChain core 1.4 writes the hit at the wrong index: documented in the README, fixed only by withCache.
    expect(broken.generations.map((g) => g?.[0]?.text)).not.toEqual(['Echo: B', 'Echo: A']);
  });

  it('a model that cannot stream still streams through invoke, cached', async () => {
    const fake = new FakeListChatModel({ responses: ['first answer', 'second answer'] });
    const model = withCache(fake, { cache: await makeCache('memory') });
    const first = await collect(await model.stream('x'));
    const second = await collect(await model.stream('x'));
    expect(textOf(first)).toBe('first answer');
    expect(textOf(second)).toBe('first answer');
  });

  it('a model answering with chunks gets chunks back on a hit (the default withStructuredOutput requires them)', async () => {
    const chunky = new ChunkyChatModel({});
    const model = withCache(chunky, { cache: await makeCache('memory') });
    const structured = model.withStructuredOutput(z.object({ name: z.string(), age: z.number() }));
    expect(await structured.invoke('who?')).toEqual({ name: 'Ada', age: 36 });
    expect(await structured.invoke('who?')).toEqual({ name: 'Ada', age: 36 });
    expect(chunky.calls).toBe(1);
  });

  it('fails open: a broken store never breaks invoke or stream', async () => {
    const broken = {
      get: async () => {
        throw new Error('down');
      },
      set: async () => {
        throw new Error('down');
      },
      delete: async () => false,
      clear: async () => {},
    };
    const cache = await makeCache('memory', { store: broken as never, timeoutMs: 50 });
    const model = withCache(chatModel(ctx.server), { cache });
    expect((await model.invoke('still up')).content).toBe('Echo: still up');
    expect(textOf(await collect(await model.stream('still up')))).toBe('Echo: still up');
    expect((await model.streamEvents('still up')).text).toBe('Echo: still up');
    expect(cache.stats().errors).toBeGreaterThan(0);
  });

  it('fails open: a corrupt entry is reported, recomputed and repaired', async () => {
    const cache = await makeCache('memory');
    const { errors, onError } = errorSink();
    const model = withCache(chatModel(ctx.server), { cache, onError });
    const events: string[] = [];
    cache.on('write', (event) => events.push(event.key));
    await model.invoke('repair');
    await cache.flush();
    const stored = (await cache.store.get(events[0]!))!;
    await cache.store.set(events[0]!, stored.replace('"generations"', '"nope"'), undefined);
    expect((await model.invoke('repair')).content).toBe('Echo: repair');
    expect(errors.map((e) => e.code)).toEqual(['CORRUPT_ENTRY']);
    await cache.flush();
    expect((await model.invoke('repair')).response_metadata.llmemo).toMatchObject({ hit: true });
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it("mode 'replay' never calls the provider, for invoke and stream", async () => {
    const cache = await makeCache('memory');
    await withCache(chatModel(ctx.server), { cache }).invoke('recorded');
    const replay = withCache(chatModel(ctx.server), { cache, mode: 'replay' });
    expect((await replay.invoke('recorded')).content).toBe('Echo: recorded');
    await expect(replay.invoke('not recorded')).rejects.toMatchObject({ code: 'CACHE_MISS' });
    await expect((async () => collect(await replay.stream('not recorded')))()).rejects.toMatchObject({
      code: 'CACHE_MISS',
    });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it("mode 'read-only' and a namespace apply to streams too", async () => {
    const cache = await makeCache('memory');
    const readOnly = withCache(chatModel(ctx.server), { cache, mode: 'read-only' });
    await collect(await readOnly.stream('ro'));
    await collect(await readOnly.stream('ro'));
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
    const tenantA = withCache(chatModel(ctx.server), { cache, namespace: 'a' });
    const tenantB = withCache(chatModel(ctx.server), { cache, namespace: 'b' });
    await collect(await tenantA.stream('ns'));
    await collect(await tenantB.stream('ns'));
    await collect(await tenantA.stream('ns'));
    expect(ctx.server.count(CHAT_PATH)).toBe(4);
  });

  it('call options that cannot be keyed (a cycle) go to the provider uncached, with an error report', async () => {
    const { errors, onError } = errorSink();
    const model = withCache(chatModel(ctx.server), { cache: await makeCache('memory'), onError });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await model.invoke('cycle', { trace: cyclic } as never)).content).toBe('Echo: cycle');
    expect((await model.invoke('cycle', { trace: cyclic } as never)).content).toBe('Echo: cycle');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(['UNSERIALIZABLE_REQUEST', 'UNSERIALIZABLE_REQUEST']);
  });

  it('withCache on a cached model replaces its settings instead of stacking caches', async () => {
    const cache = await makeCache('memory');
    const once = withCache(chatModel(ctx.server), { cache, namespace: 'one' });
    const twice = withCache(once, { cache, namespace: 'two' });
    await twice.invoke('stack');
    await once.invoke('stack');
    await twice.invoke('stack');
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('rejects what is not a chat model, and bad options', async () => {
    const cache = await makeCache('memory');
    expect(() => withCache({} as never, { cache })).toThrow(/takes a LangChain chat model/);
    expect(() => withCache(chatModel(ctx.server).withConfig({}) as never, { cache })).not.toThrow();
    const configurable = await initChatModel('openai:gpt-4o-mini', { apiKey: 'test' });
    expect(() => withCache(configurable, { cache })).toThrow(/initChatModel/);
    expect(() => withCache(chatModel(ctx.server), { cache, mode: 'nope' as never })).toThrow(LlmemoError);
    expect(() => withCache(chatModel(ctx.server), {} as never)).toThrow(/needs \{ cache \}/);
  });
});
