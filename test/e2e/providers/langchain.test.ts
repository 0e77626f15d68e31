// Issue 11: withCache and LlmemoCache with the real @langchain/anthropic and @langchain/google-genai against local
// fakes of the Messages and Gemini APIs, on SQLite and Redis. Request counts prove every hit.
import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatGoogleGenerativeAI } from '@langchain/google-genai';
import { createCache, type ResponseCache } from '@llmemo/core';
import { LlmemoCache, withCache } from '@llmemo/langchain';
import {
  type AnthropicTestServer,
  createAnthropicTestServer,
  createGeminiTestServer,
  type GeminiTestServer,
  storeUrl,
  uniqueNamespace,
} from '@llmemo/test-support';
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

interface Kit {
  name: string;
  server: () => AnthropicTestServer | GeminiTestServer;
  model: (fields?: Record<string, unknown>) => BaseChatModel;
  text: (text: string) => object;
  toolCall: () => object;
  /** The model id each request named. */
  requestedModel: (request: unknown) => string;
}

const KITS: Kit[] = [
  {
    name: 'ChatAnthropic',
    server: () => anthropic,
    model: (fields = {}) =>
      new ChatAnthropic({
        model: 'claude-sonnet-4-5',
        apiKey: 'k',
        anthropicApiUrl: anthropic.origin,
        maxRetries: 0,
        ...fields,
      }),
    text: (text) => ({ text, usage: { inputTokens: 9, outputTokens: 2 } }),
    toolCall: () => ({ toolCalls: [{ name: 'weather', input: { city: 'Oslo' } }] }),
    requestedModel: (request) => (request as { model: string }).model,
  },
  {
    name: 'ChatGoogleGenerativeAI',
    server: () => gemini,
    model: (fields = {}) =>
      new ChatGoogleGenerativeAI({
        model: 'gemini-2.5-flash',
        apiKey: 'k',
        baseUrl: gemini.origin,
        maxRetries: 0,
        ...fields,
      }),
    text: (text) => ({ text, usage: { promptTokens: 9, candidatesTokens: 2 } }),
    toolCall: () => ({ functionCalls: [{ name: 'weather', args: { city: 'Oslo' } }] }),
    requestedModel: (request) => (request as { model: string }).model,
  },
];

const weather = tool(async ({ city }) => `${city}: 21C`, {
  name: 'weather',
  description: 'The weather in a city',
  schema: z.object({ city: z.string() }),
});

function textOf(chunks: AIMessageChunk[]): string {
  return chunks.map((chunk) => (typeof chunk.content === 'string' ? chunk.content : chunk.text)).join('');
}

describe.each(['sqlite', 'redis'] as const)('LangChain with Anthropic and Gemini on %s', (store) => {
  const newCache = () => {
    const cache = createCache({ store: storeUrl(store), namespace: uniqueNamespace('lc-providers'), timeoutMs: 2000 });
    caches.push(cache);
    return cache;
  };

  describe.each(KITS)('$name', (kit) => {
    it('withCache: invoke misses then hits with the same content and response metadata, usage zeroed', async () => {
      const cache = newCache();
      kit.server().script(kit.text('Paris.'));
      const model = withCache(kit.model(), { cache });
      const miss = await model.invoke('Capital of France?');
      const hit = await model.invoke('Capital of France?');
      expect(hit.content).toEqual(miss.content);
      expect(hit.response_metadata.llmemo).toMatchObject({ hit: true });
      expect(hit.usage_metadata).toMatchObject({ input_tokens: 0, output_tokens: 0 });
      expect(miss.usage_metadata).toMatchObject({ input_tokens: 9, output_tokens: 2 });
      const { llmemo: _ours, ...metadata } = hit.response_metadata;
      expect(metadata).toEqual(miss.response_metadata);
      expect(kit.server().count()).toBe(1);
      expect(cache.stats().tokensSaved).toEqual({ input: 9, output: 2 });
    });

    it('withCache: bindTools hits with the same tool call; another tool set misses', async () => {
      const cache = newCache();
      kit.server().script(kit.toolCall());
      const model = withCache(kit.model(), { cache }).bindTools!([weather]);
      const miss = await model.invoke('Weather in Oslo?');
      const hit = await model.invoke('Weather in Oslo?');
      expect(hit.tool_calls?.map(({ name, args }) => ({ name, args }))).toEqual([
        { name: 'weather', args: { city: 'Oslo' } },
      ]);
      expect(hit.tool_calls?.map((call) => call.id)).toEqual(miss.tool_calls?.map((call) => call.id));
      expect(kit.server().count()).toBe(1);
      const other = tool(async () => 'x', { name: 'other', description: 'Other', schema: z.object({}) });
      await withCache(kit.model(), { cache }).bindTools!([weather, other]).invoke('Weather in Oslo?');
      expect(kit.server().count()).toBe(2);
    });

    it('withCache(...).stream(): recorded, then replayed chunk by chunk without a request', async () => {
      const cache = newCache();
      kit.server().script({ ...kit.text(''), chunks: ['One ', 'two ', 'three.'] });
      const model = withCache(kit.model(), { cache });
      const first: AIMessageChunk[] = [];
      for await (const chunk of await model.stream('Count.')) first.push(chunk);
      const second: AIMessageChunk[] = [];
      for await (const chunk of await model.stream('Count.')) second.push(chunk);
      expect(textOf(second)).toBe('One two three.');
      expect(textOf(second)).toBe(textOf(first));
      expect(second.length).toBe(first.length);
      expect(kit.server().count()).toBe(1);
    });

    it('withCache keys the model id and settings: another model or temperature never gets this answer', async () => {
      const cache = newCache();
      kit.server().script((request: unknown) => kit.text(`answer of ${kit.requestedModel(request)}`));
      const flash = withCache(kit.model(), { cache });
      const other = kit.name === 'ChatAnthropic' ? 'claude-opus-4-1' : 'gemini-2.5-pro';
      const pro = withCache(kit.model({ model: other }), { cache });
      const warm = withCache(kit.model({ temperature: 0.9 }), { cache });
      expect((await flash.invoke('Who?')).content).toMatch(/^answer of (claude-sonnet-4-5|gemini-2\.5-flash)$/);
      expect((await pro.invoke('Who?')).content).toBe(`answer of ${other}`);
      await warm.invoke('Who?');
      expect(kit.server().count()).toBe(3);
      await flash.invoke('Who?');
      expect(kit.server().count()).toBe(3);
      expect(Object.keys(cache.stats().models)).not.toContain('unknown');
    });

    it('LlmemoCache does not cache it (its llmKey hides the endpoint or the model): a skip event says why', async () => {
      const cache = newCache();
      const reasons: string[] = [];
      cache.on('skip', (event) => reasons.push(event.reason));
      const model = kit.model({ cache: new LlmemoCache({ cache }) });
      await model.invoke('Hello?');
      await model.invoke('Hello?');
      expect(kit.server().count()).toBe(2);
      expect(cache.stats().writes).toBe(0);
      expect(reasons[0]).toMatch(/withCache/);
    });
  });

  it('LlmemoCache with a scope caches ChatAnthropic (the scope names its endpoint)', async () => {
    const cache = newCache();
    const model = KITS[0]!.model({ cache: new LlmemoCache({ cache, scope: 'anthropic-direct' }) });
    await model.invoke('Hello?');
    const hit = await model.invoke('Hello?');
    expect(hit.response_metadata.llmemo).toMatchObject({ hit: true });
    expect(anthropic.count()).toBe(1);
  });
});
