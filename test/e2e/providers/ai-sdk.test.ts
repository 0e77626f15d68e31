// Issue 11: the AI SDK middleware with the real @ai-sdk/anthropic and @ai-sdk/google against local fakes of the
// Messages and Gemini APIs, on SQLite and Redis. Request counts prove every hit; a hit equals its miss apart from
// `providerMetadata.llmemo` and the HTTP exchange (response headers and bodies), which are not stored.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { cacheMiddleware } from '@llmemo/ai-sdk';
import { createCache, type ResponseCache } from '@llmemo/core';
import {
  type AnthropicTestServer,
  createAnthropicTestServer,
  createGeminiTestServer,
  type GeminiTestServer,
  storeUrl,
  uniqueNamespace,
} from '@llmemo/test-support';
import {
  generateText,
  isStepCount,
  type LanguageModel,
  type ModelMessage,
  streamText,
  tool,
  wrapLanguageModel,
} from 'ai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

let anthropic: AnthropicTestServer;
let gemini: GeminiTestServer;
beforeAll(async () => {
  [anthropic, gemini] = await Promise.all([createAnthropicTestServer(), createGeminiTestServer()]);
});
afterAll(async () => {
  await Promise.all([anthropic?.close(), gemini?.close()]);
});
beforeEach(() => {
  anthropic.reset();
  gemini.reset();
});

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

/** What differs between the two providers: how to script each kind of answer, and where signatures live. */
interface Kit {
  name: string;
  server: () => AnthropicTestServer | GeminiTestServer;
  model: (baseURL?: string, id?: string) => LanguageModel;
  text: (text: string) => object;
  thinking: (thought: string, signature: string, text: string) => object;
  toolCall: (city: string) => object;
  /** How many tool results the request carries. */
  toolResults: (request: unknown) => number;
  signatureOf: (reasoning: { providerMetadata?: Record<string, Record<string, unknown>> }) => unknown;
}

const KITS: Kit[] = [
  {
    name: 'anthropic',
    server: () => anthropic,
    model: (baseURL = anthropic.url, id = 'claude-sonnet-4-5') => createAnthropic({ baseURL, apiKey: 'k' })(id),
    text: (text) => ({ text, usage: { inputTokens: 11, outputTokens: 3, cacheReadInputTokens: 5 } }),
    thinking: (thinking, signature, text) => ({ thinking, signature, text }),
    toolCall: (city) => ({ toolCalls: [{ name: 'weather', input: { city } }] }),
    toolResults: (request) => (request as { toolResults: unknown[] }).toolResults.length,
    signatureOf: (reasoning) => reasoning.providerMetadata?.anthropic?.signature,
  },
  {
    name: 'google',
    server: () => gemini,
    model: (baseURL = gemini.url, id = 'gemini-2.5-flash') => createGoogleGenerativeAI({ baseURL, apiKey: 'k' })(id),
    text: (text) => ({ text, usage: { promptTokens: 11, candidatesTokens: 3 } }),
    thinking: (thought, thoughtSignature, text) => ({ thought, thoughtSignature, text }),
    toolCall: (city) => ({ functionCalls: [{ name: 'weather', args: { city } }] }),
    toolResults: (request) => (request as { functionResponses: unknown[] }).functionResponses.length,
    signatureOf: (reasoning) => reasoning.providerMetadata?.google?.thoughtSignature,
  },
];

function wrap(model: LanguageModel, cache: ResponseCache): LanguageModel {
  return wrapLanguageModel({ model: model as never, middleware: cacheMiddleware({ cache }) });
}

function withoutOurs(providerMetadata: unknown) {
  const { llmemo: _ours, ...rest } = (providerMetadata ?? {}) as Record<string, unknown>;
  return rest;
}

/** The parts of a generateText result a hit must reproduce. */
function answer(result: Awaited<ReturnType<typeof generateText>>) {
  return {
    text: result.text,
    reasoning: result.reasoning.map((part) => ({
      text: 'text' in part ? part.text : undefined,
      providerMetadata: part.providerMetadata,
    })),
    toolCalls: result.toolCalls.map(({ toolName, input, toolCallId }) => ({ toolName, input, toolCallId })),
    finishReason: result.finishReason,
    usage: result.usage,
    response: { id: result.response.id, modelId: result.response.modelId, timestamp: result.response.timestamp },
    providerMetadata: withoutOurs(result.providerMetadata),
  };
}

const weather = tool({
  description: 'The weather in a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21 }),
});

describe.each(['sqlite', 'redis'] as const)('AI SDK with Anthropic and Gemini on %s', (store) => {
  const newCache = () => {
    const cache = createCache({ store: storeUrl(store), namespace: uniqueNamespace('providers'), timeoutMs: 2000 });
    caches.push(cache);
    return cache;
  };

  describe.each(KITS)('$name', (kit) => {
    it('generateText and streamText: text, then hits equal to the miss (usage, id, timestamp, metadata)', async () => {
      const cache = newCache();
      const model = wrap(kit.model(), cache);
      kit.server().script(kit.text('Paris.'));
      const miss = await generateText({ model, prompt: 'Capital of France?' });
      await cache.flush();
      const hit = await generateText({ model, prompt: 'Capital of France?' });
      expect(answer(hit)).toEqual(answer(miss));
      expect(hit.text).toBe('Paris.');
      expect(hit.providerMetadata?.llmemo).toMatchObject({ hit: true });
      // streamText of the same request replays the stored answer; its own stream is recorded and replayed too.
      const replay = streamText({ model, prompt: 'Capital of France?' });
      expect(await replay.text).toBe('Paris.');
      const streamed = streamText({ model, prompt: 'Streamed capital?' });
      const deltas: string[] = [];
      for await (const delta of streamed.textStream) deltas.push(delta);
      await cache.flush();
      const streamedHit = streamText({ model, prompt: 'Streamed capital?' });
      const hitDeltas: string[] = [];
      for await (const delta of streamedHit.textStream) hitDeltas.push(delta);
      expect(hitDeltas).toEqual(deltas);
      expect((await streamedHit.response).timestamp).toEqual((await streamed.response).timestamp);
      expect(await streamedHit.usage).toEqual(await streamed.usage);
      expect(kit.server().count()).toBe(2);
    });

    it('extended thinking with its signature, generate and stream', async () => {
      const cache = newCache();
      const model = wrap(kit.model(), cache);
      kit.server().script(kit.thinking('Weigh the options.', 'sig-original', 'Option B.'));
      const miss = await generateText({ model, prompt: 'Pick one.' });
      await cache.flush();
      const hit = await generateText({ model, prompt: 'Pick one.' });
      expect(answer(hit)).toEqual(answer(miss));
      expect(hit.reasoningText).toBe('Weigh the options.');
      expect(kit.signatureOf(hit.reasoning[0]!)).toBe('sig-original');
      const streamed = streamText({ model, prompt: 'Pick again.' });
      await streamed.consumeStream();
      await cache.flush();
      const replay = streamText({ model, prompt: 'Pick again.' });
      expect(await replay.reasoningText).toBe('Weigh the options.');
      expect(kit.signatureOf((await replay.reasoning)[0]!)).toBe('sig-original');
      expect(kit.server().count()).toBe(2);
    });

    it('a follow-up turn carrying the signed reasoning hits; a changed signature misses', async () => {
      const cache = newCache();
      const model = wrap(kit.model(), cache);
      kit.server().script(kit.thinking('First thoughts.', 'sig-turn-1', 'First answer.'));
      const first = await generateText({ model, prompt: 'Question one?' });
      const history: ModelMessage[] = [
        { role: 'user', content: 'Question one?' },
        ...first.response.messages,
        { role: 'user', content: 'Question two?' },
      ];
      await generateText({ model, messages: history });
      await cache.flush();
      const again = await generateText({ model, messages: history });
      expect(again.providerMetadata?.llmemo).toMatchObject({ hit: true });
      expect(kit.server().count()).toBe(2);
      const tampered = JSON.parse(JSON.stringify(history).replaceAll('sig-turn-1', 'sig-forged')) as ModelMessage[];
      const forged = await generateText({ model, messages: tampered });
      expect(forged.providerMetadata?.llmemo).toMatchObject({ hit: false });
      expect(kit.server().count()).toBe(3);
    });

    it('a tool call, and a 3-step agent loop whose second run makes zero requests', async () => {
      const cache = newCache();
      const model = wrap(kit.model(), cache);
      kit.server().script((request: unknown) => {
        const done = kit.toolResults(request);
        if (done === 0) return kit.toolCall('Oslo');
        if (done === 1) return kit.toolCall('Bergen');
        return kit.text('Oslo 21, Bergen 21.');
      });
      const runs = [];
      for (let run = 0; run < 2; run++) {
        const result = streamText({
          model,
          prompt: 'Weather in Oslo and Bergen?',
          tools: { weather },
          stopWhen: isStepCount(5),
        });
        runs.push({ text: await result.text, steps: (await result.steps).length });
        await cache.flush();
        if (run === 0) expect(kit.server().count()).toBe(3);
      }
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[0]).toEqual({ text: 'Oslo 21, Bergen 21.', steps: 3 });
      expect(kit.server().count()).toBe(3);
      // generateText of the first step is served from the stored stream: the same tool call.
      const step = await generateText({ model, prompt: 'Weather in Oslo and Bergen?', tools: { weather } });
      expect(step.toolCalls.map((call) => call.input)).toEqual([{ city: 'Oslo' }]);
      expect(kit.server().count()).toBe(3);
    });

    it('two base URLs with one model id never share an entry', async () => {
      const cache = newCache();
      const origin = kit.server().origin;
      const base = kit.name === 'anthropic' ? '/v1' : '/v1beta';
      kit.server().script((request: unknown) => kit.text(`served by ${(request as { path: string }).path}`));
      const texts: string[] = [];
      for (const prefix of ['/eu', '/us', '/eu']) {
        const model = wrap(kit.model(`${origin}${prefix}${base}`), cache);
        texts.push((await generateText({ model, prompt: 'where?' })).text);
        await cache.flush();
      }
      expect(texts[0]).toMatch(/^served by \/eu\//);
      expect(texts[1]).toMatch(/^served by \/us\//);
      expect(texts[2]).toBe(texts[0]);
      expect(kit.server().count()).toBe(2);
    });
  });

  it('google: image output hits with identical bytes and media type', async () => {
    const cache = newCache();
    const model = wrap(KITS[1]!.model(undefined, 'gemini-2.5-flash-image'), cache);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7, 7]);
    gemini.script({ text: 'Here is a fox.', images: [{ mimeType: 'image/png', data: png }] });
    const miss = await generateText({ model, prompt: 'Draw a fox.' });
    await cache.flush();
    const hit = await generateText({ model, prompt: 'Draw a fox.' });
    expect(hit.files).toHaveLength(1);
    expect(hit.files[0]!.mediaType).toBe('image/png');
    expect([...hit.files[0]!.uint8Array]).toEqual([...png]);
    expect([...hit.files[0]!.uint8Array]).toEqual([...miss.files[0]!.uint8Array]);
    expect(hit.text).toBe(miss.text);
    const streamed = streamText({ model, prompt: 'Draw a fox.' });
    expect([...(await streamed.files)[0]!.uint8Array]).toEqual([...png]);
    expect(gemini.count()).toBe(1);
  });
});
