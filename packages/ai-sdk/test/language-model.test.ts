// End to end: the real @ai-sdk/openai provider (Responses API and chat completions) talking HTTP to the local
// OpenAI-compatible server, through cacheMiddleware, on SQLite and Redis. Request counts prove hits and misses.
import { isLlmemoError } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import type { OpenAITestServer } from '@llmemo/test-support/openai';
import {
  generateObject,
  generateText,
  isStepCount,
  type LanguageModel,
  Output,
  streamObject,
  streamText,
  tool,
} from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cached, closeCaches, collect, llmemoOf, newCache, PERSISTENT_STORES, provider } from './helpers.js';

const server = useOpenAITestServer();
afterEach(closeCaches);

const person = z.object({ name: z.string(), age: z.number().int() });

const APIS = [
  ['Responses API', (s: OpenAITestServer) => provider(s)('gpt-4o-mini'), '/v1/responses'],
  ['chat completions', (s: OpenAITestServer) => provider(s).chat('gpt-4o-mini'), '/v1/chat/completions'],
] as const;

describe.each(PERSISTENT_STORES)('cacheMiddleware on %s', (store) => {
  describe.each(APIS)('%s', (_api, base, path) => {
    function model(options: Parameters<typeof cached>[2] = {}): {
      model: LanguageModel;
      cache: ReturnType<typeof newCache>;
    } {
      const cache = newCache(store);
      return { model: cached(base(server), cache, options), cache };
    }

    it('generateText: a miss calls the provider, the repeat is a hit with the same result', async () => {
      const { model: m, cache } = model();
      server.script({ text: 'Paris is the capital.', usage: { inputTokens: 11, outputTokens: 5 } });
      const first = await generateText({ model: m, prompt: 'Capital of France?', temperature: 0 });
      await cache.flush();
      const second = await generateText({ model: m, prompt: 'Capital of France?', temperature: 0 });

      expect(server.count(path)).toBe(1);
      expect(second.text).toBe('Paris is the capital.');
      expect(second.text).toBe(first.text);
      expect(second.usage).toEqual(first.usage);
      expect(second.finishReason).toBe('stop');
      expect(second.response.id).toBe(first.response.id);
      expect(second.response.modelId).toBe(first.response.modelId);
      expect(second.response.timestamp).toBeInstanceOf(Date);
      expect(second.response.timestamp.getTime()).toBe(first.response.timestamp.getTime());
      expect(llmemoOf(first.providerMetadata)).toMatchObject({ hit: false, age: 0 });
      const info = llmemoOf(second.providerMetadata);
      expect(info?.hit).toBe(true);
      expect(info?.age).toBeGreaterThanOrEqual(0);
      expect(info?.key).toMatch(/^llmemo:v2:ai-sdk-[^:]+:chat:openai\.(responses|chat):gpt-4o-mini:[0-9a-f]{64}$/);
      expect(info?.key).toBe(llmemoOf(first.providerMetadata)?.key);
      const { llmemo: _a, ...providerFirst } = first.providerMetadata ?? {};
      const { llmemo: _b, ...providerSecond } = second.providerMetadata ?? {};
      expect(providerSecond).toEqual(providerFirst);
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, writes: 1, tokensSaved: { input: 11, output: 5 } });
    });

    it('streamText: a miss streams and records, the repeat replays the same deltas and result', async () => {
      const { model: m, cache } = model();
      server.script({ chunks: ['The ', 'quick ', 'brown ', 'fox.'], usage: { inputTokens: 3, outputTokens: 4 } });
      const first = streamText({ model: m, prompt: 'Tell me about foxes' });
      const firstDeltas = await collect(first.textStream);
      await cache.flush();
      const second = streamText({ model: m, prompt: 'Tell me about foxes' });
      const secondDeltas = await collect(second.textStream);

      expect(server.count(path)).toBe(1);
      expect(firstDeltas.join('')).toBe('The quick brown fox.');
      expect(secondDeltas).toEqual(firstDeltas);
      expect(await second.text).toBe(await first.text);
      expect(await second.usage).toEqual(await first.usage);
      expect(await second.finishReason).toBe('stop');
      const [firstResponse, secondResponse] = [await first.response, await second.response];
      expect(secondResponse.id).toBe(firstResponse.id);
      expect(secondResponse.timestamp).toBeInstanceOf(Date);
      expect(secondResponse.timestamp.getTime()).toBe(firstResponse.timestamp.getTime());
      expect(llmemoOf(await first.providerMetadata)).toMatchObject({ hit: false });
      expect(llmemoOf(await second.providerMetadata)).toMatchObject({ hit: true });
    });

    it('streamText with a tool call replays the call; a tool loop replays every step and runs the tool again', async () => {
      const { model: m, cache } = model();
      let executions = 0;
      const weather = tool({
        description: 'Weather for a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          executions++;
          return { city, celsius: 21 };
        },
      });
      server.script((request) =>
        request.toolResults.length === 0
          ? { toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] }
          : { text: `It is ${request.toolResults[0]?.output}` },
      );
      const run = async () => {
        const result = streamText({
          model: m,
          prompt: 'Weather in Paris?',
          tools: { weather },
          stopWhen: isStepCount(3),
        });
        const text = await result.text;
        const steps = await result.steps;
        await cache.flush();
        return { text, steps };
      };
      const first = await run();
      const second = await run();

      expect(server.count(path)).toBe(2);
      expect(second.text).toBe('It is {"city":"Paris","celsius":21}');
      expect(second.text).toBe(first.text);
      expect(second.steps[0]?.toolCalls).toEqual(first.steps[0]?.toolCalls);
      expect(second.steps[0]?.toolCalls[0]).toMatchObject({ toolName: 'weather', input: { city: 'Paris' } });
      expect(second.steps[0]?.finishReason).toBe('tool-calls');
      // The cache answers model calls; the SDK still runs the tools of a replayed step.
      expect(executions).toBe(2);
    });

    it('generate and stream share one entry, in both directions', async () => {
      const { model: m, cache } = model();
      server.script({ text: 'Shared answer here', usage: { inputTokens: 2, outputTokens: 3 } });
      const generated = await generateText({ model: m, prompt: 'share A' });
      await cache.flush();
      const streamed = streamText({ model: m, prompt: 'share A' });
      expect(await streamed.text).toBe(generated.text);
      expect(await streamed.usage).toEqual(generated.usage);
      expect(llmemoOf(await streamed.providerMetadata)?.hit).toBe(true);
      expect(server.count(path)).toBe(1);

      const streamedFirst = streamText({ model: m, prompt: 'share B' });
      const text = await streamedFirst.text;
      await cache.flush();
      const generatedSecond = await generateText({ model: m, prompt: 'share B' });
      expect(generatedSecond.text).toBe(text);
      expect(generatedSecond.usage).toEqual(await streamedFirst.usage);
      expect(generatedSecond.response.id).toBe((await streamedFirst.response).id);
      expect(llmemoOf(generatedSecond.providerMetadata)?.hit).toBe(true);
      expect(server.count(path)).toBe(2);
    });

    it('structured output: generateObject, streamObject and Output.object hit', async () => {
      const { model: m, cache } = model();
      server.script({ json: { name: 'Ada', age: 36 } });
      const a = await generateObject({ model: m, schema: person, prompt: 'a person' });
      await cache.flush();
      const b = await generateObject({ model: m, schema: person, prompt: 'a person' });
      expect(b.object).toEqual({ name: 'Ada', age: 36 });
      expect(b.object).toEqual(a.object);

      const streamed = async () => {
        const result = streamObject({ model: m, schema: person, prompt: 'another person' });
        const partials = await collect(result.partialObjectStream);
        const object = await result.object;
        await cache.flush();
        return { partials, object };
      };
      const c = await streamed();
      const d = await streamed();
      expect(d.object).toEqual({ name: 'Ada', age: 36 });
      expect(d.partials.at(-1)).toEqual(c.partials.at(-1));

      const output = async () =>
        (await generateText({ model: m, prompt: 'third person', output: Output.object({ schema: person }) })).output;
      expect(await output()).toEqual({ name: 'Ada', age: 36 });
      await cache.flush();
      expect(await output()).toEqual({ name: 'Ada', age: 36 });
      expect(server.count(path)).toBe(3);
    });

    it('a bad per-call option fails with INVALID_OPTIONS before the provider is called', async () => {
      const { model: m } = model();
      const error = await generateText({
        model: m,
        prompt: 'x',
        maxRetries: 0,
        providerOptions: { llmemo: { ttl: 'soon' } },
      }).catch((e: unknown) => e);
      expect(isLlmemoError(error, 'INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toMatch(/providerOptions\.llmemo\.ttl/);

      const errors: unknown[] = [];
      const streamed = streamText({
        model: m,
        prompt: 'x',
        providerOptions: { llmemo: { mode: 'sometimes' } },
        onError: ({ error }) => {
          errors.push(error);
        },
      });
      await streamed.consumeStream();
      expect(errors).toHaveLength(1);
      expect(isLlmemoError(errors[0], 'INVALID_OPTIONS')).toBe(true);
      expect((errors[0] as Error).message).toMatch(/providerOptions\.llmemo\.mode must be one of/);
      expect(server.count()).toBe(0);
    });
  });
});

describe.each(PERSISTENT_STORES)('reasoning, per-call options and failures on %s', (store) => {
  function setup(options: Parameters<typeof cached>[2] = {}) {
    const cache = newCache(store);
    return { cache, model: cached(provider(server)('gpt-4o-mini'), cache, options) };
  }
  const path = '/v1/responses';

  it('replays reasoning (Responses API), generate and stream', async () => {
    const { cache, model } = setup();
    server.script({ reasoning: 'Think it over carefully', text: 'Answer' });
    const generated = await generateText({ model, prompt: 'q1' });
    await cache.flush();
    const again = await generateText({ model, prompt: 'q1' });
    expect(again.reasoningText).toBe('Think it over carefully');
    expect(again.reasoning).toEqual(generated.reasoning);
    expect(again.text).toBe('Answer');

    const streamed = streamText({ model, prompt: 'q2' });
    const parts = (await collect(streamed.fullStream)).filter((part) => part.type.startsWith('reasoning'));
    await cache.flush();
    const replayed = streamText({ model, prompt: 'q2' });
    const replayedParts = (await collect(replayed.fullStream)).filter((part) => part.type.startsWith('reasoning'));
    expect(await replayed.reasoningText).toBe('Think it over carefully');
    expect(replayedParts).toEqual(parts);
    expect(server.count(path)).toBe(2);
  });

  it("mode 'refresh' calls the provider and overwrites; 'read-only' never writes; 'replay' never calls", async () => {
    const { cache, model } = setup();
    server.enqueue({ text: 'first' }, { text: 'second' }, { text: 'third' });
    expect((await generateText({ model, prompt: 'm' })).text).toBe('first');
    await cache.flush();
    const refreshed = await generateText({ model, prompt: 'm', providerOptions: { llmemo: { mode: 'refresh' } } });
    expect(refreshed.text).toBe('second');
    await cache.flush();
    expect((await generateText({ model, prompt: 'm' })).text).toBe('second');
    expect(server.count(path)).toBe(2);

    const readOnly = await generateText({ model, prompt: 'ro', providerOptions: { llmemo: { mode: 'read-only' } } });
    expect(readOnly.text).toBe('third');
    await cache.flush();
    const replay = await generateText({ model, prompt: 'ro', providerOptions: { llmemo: { mode: 'replay' } } }).catch(
      (e: unknown) => e,
    );
    expect(isLlmemoError(replay, 'CACHE_MISS')).toBe(true);
    expect(server.count(path)).toBe(3);
    const replayed = await generateText({ model, prompt: 'm', providerOptions: { llmemo: { mode: 'replay' } } });
    expect(replayed.text).toBe('second');
    expect(server.count(path)).toBe(3);
  });

  it('per-call ttl, namespace and noStore; per-call options never split the key', async () => {
    const { cache, model } = setup();
    await generateText({ model, prompt: 'ttl', providerOptions: { llmemo: { ttl: 40 } } });
    await cache.flush();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await generateText({ model, prompt: 'ttl' });
    expect(server.count(path)).toBe(2);

    await generateText({ model, prompt: 'tenant', providerOptions: { llmemo: { namespace: 'tenant-a' } } });
    await cache.flush();
    await generateText({ model, prompt: 'tenant', providerOptions: { llmemo: { namespace: 'tenant-b' } } });
    await cache.flush();
    const a = await generateText({ model, prompt: 'tenant', providerOptions: { llmemo: { namespace: 'tenant-a' } } });
    expect(llmemoOf(a.providerMetadata)?.key).toContain(':tenant-a:chat:');
    expect(llmemoOf(a.providerMetadata)?.hit).toBe(true);
    expect(server.count(path)).toBe(4);

    await generateText({ model, prompt: 'nostore', providerOptions: { llmemo: { noStore: true } } });
    await cache.flush();
    // Options present or not, the key is the same: this one hits the entry the next call writes.
    await generateText({ model, prompt: 'nostore', providerOptions: { llmemo: { mode: 'read-write' } } });
    await cache.flush();
    const hit = await generateText({ model, prompt: 'nostore' });
    expect(llmemoOf(hit.providerMetadata)?.hit).toBe(true);
    expect(server.count(path)).toBe(6);
    const body = server.requests.at(-1)?.body as Record<string, unknown>;
    expect(JSON.stringify(body)).not.toContain('llmemo');
  });

  it('an HTTP 500 and a finishReason of length: the error is not cached, the truncated answer is', async () => {
    const { cache, model } = setup();
    server.failNext(1, { status: 500 });
    await expect(generateText({ model, prompt: 'f', maxRetries: 0 })).rejects.toMatchObject({ statusCode: 500 });
    await cache.flush();
    server.script({ text: 'cut', finishReason: 'length' });
    expect((await generateText({ model, prompt: 'f' })).finishReason).toBe('length');
    await cache.flush();
    expect((await generateText({ model, prompt: 'f' })).finishReason).toBe('length');
    expect(server.count(path)).toBe(2);
    expect(cache.stats().writes).toBe(1);
  });

  it('a stream cut mid-way or aborted is not cached; the next call goes to the provider', async () => {
    const { cache, model } = setup();
    server.cutNextStream({ afterChunks: 6 });
    const cut = streamText({ model, prompt: 'one two three four', maxRetries: 0, onError: () => {} });
    await cut.consumeStream();
    await cache.flush();

    server.setLatency({ perTokenMs: 15 });
    const controller = new AbortController();
    const aborted = streamText({ model, prompt: 'one two three four', abortSignal: controller.signal });
    // ai@7 ends the text stream quietly on abort; what matters here is that nothing was stored.
    const deltas: string[] = [];
    for await (const delta of aborted.textStream) {
      deltas.push(delta);
      controller.abort();
    }
    expect(deltas[0]).toBe('Echo:');
    expect(deltas.join('')).not.toBe('Echo: one two three four');
    await cache.flush();
    expect(cache.stats().writes).toBe(0);

    server.setLatency({});
    const whole = streamText({ model, prompt: 'one two three four' });
    expect(await whole.text).toBe('Echo: one two three four');
    await cache.flush();
    expect(server.count(path)).toBe(3);
    expect(cache.stats().writes).toBe(1);
  });

  it('identical concurrent calls share one provider call', async () => {
    const { model } = setup();
    server.setLatency({ responseMs: 50 });
    const results = await Promise.all([1, 2, 3].map(() => generateText({ model, prompt: 'together' })));
    expect(server.count(path)).toBe(1);
    expect(new Set(results.map((result) => result.text))).toEqual(new Set(['Echo: together']));
    expect(results.filter((result) => llmemoOf(result.providerMetadata)?.hit === false)).toHaveLength(3);
    expect(
      results.filter((result) => (llmemoOf(result.providerMetadata) as { coalesced?: boolean }).coalesced),
    ).toHaveLength(2);
  });
});

describe('a store that is down', () => {
  it('generateText and streamText still answer from the provider, and the cache reports errors', async () => {
    const cache = newCache('memory', { store: 'redis://127.0.0.1:1', timeoutMs: 200 });
    const errors: string[] = [];
    cache.on('error', (event) => errors.push(event.error.code));
    const model = cached(provider(server)('gpt-4o-mini'), cache);
    expect((await generateText({ model, prompt: 'down' })).text).toBe('Echo: down');
    expect(await streamText({ model, prompt: 'down' }).text).toBe('Echo: down');
    await cache.flush();
    expect(server.count('/v1/responses')).toBe(2);
    expect(errors.length).toBeGreaterThan(0);
  });
});
