// Stream recording and replay at the middleware level, with ai@7's mock models: what is stored, what is not,
// and that a replay gives back every part type (bytes, URLs and Dates revived).
import type { LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { createCache } from '@llmemo/core';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { chatRequest } from '../src/chat-request.js';
import { cacheMiddleware } from '../src/index.js';
import {
  CALL,
  everyPart,
  generateResult,
  generatingModel,
  PNG,
  PNG_URL,
  readAll,
  streamingModel,
  textParts,
  withoutCacheInfo,
} from './fixtures.js';

function setup(base: MockLanguageModelV4) {
  const cache = createCache();
  const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
  return { cache, model };
}

async function streamTwice(parts: () => LanguageModelV4StreamPart[]) {
  const base = streamingModel(parts);
  const { cache, model } = setup(base);
  const first = await readAll((await model.doStream(CALL)).stream);
  await cache.flush();
  const second = await readAll((await model.doStream(CALL)).stream);
  await cache.flush();
  return { base, cache, first, second };
}

describe('recording a stream', () => {
  it('replays every stored part type exactly, without raw and ping parts', async () => {
    const { base, first, second } = await streamTwice(everyPart);
    expect(base.doStreamCalls).toHaveLength(1);
    // The miss passes everything through, raw and ping included.
    expect(withoutCacheInfo(first)).toEqual(everyPart());
    const stored = everyPart().filter((part) => part.type !== 'raw' && part.type !== 'ping');
    expect(withoutCacheInfo(second)).toEqual(stored);
    const file = second.find((part) => part.type === 'file') as { data: { data: Uint8Array } };
    expect(file.data.data).toBeInstanceOf(Uint8Array);
    expect([...file.data.data]).toEqual([...PNG]);
    const urlFile = second.filter((part) => part.type === 'file')[1] as { data: { url: URL } };
    expect(urlFile.data.url).toBeInstanceOf(URL);
    const metadata = second.find((part) => part.type === 'response-metadata') as { timestamp: Date };
    expect(metadata.timestamp).toBeInstanceOf(Date);
    expect((first.at(-1) as { providerMetadata: unknown }).providerMetadata).toMatchObject({
      mock: { cost: 0.5 },
      llmemo: { hit: false, age: 0 },
    });
    expect((second.at(-1) as { providerMetadata: unknown }).providerMetadata).toMatchObject({
      mock: { cost: 0.5 },
      llmemo: { hit: true },
    });
  });

  it.each([
    [
      'an error part',
      () => [
        ...textParts('partial answer').slice(0, 3),
        { type: 'error', error: new Error('boom') },
        ...textParts('x').slice(-1),
      ],
    ],
    ['no finish part', () => textParts('cut short here').slice(0, -1)],
    ["finish reason 'error'", () => textParts('failed answer', 'error')],
    ['no content', () => [{ type: 'stream-start', warnings: [] }, textParts('x').at(-1)!]],
  ] as [string, () => LanguageModelV4StreamPart[]][])('does not store a stream with %s', async (_name, parts) => {
    const { base, cache } = await streamTwice(parts);
    expect(base.doStreamCalls).toHaveLength(2);
    expect(cache.stats().writes).toBe(0);
  });

  it('does not store a stream whose source errors', async () => {
    const base = new MockLanguageModelV4({
      doStream: async () => ({
        stream: new ReadableStream<LanguageModelV4StreamPart>({
          start(controller) {
            for (const part of textParts('almost done').slice(0, 3)) controller.enqueue(part);
            controller.error(new Error('socket hang up'));
          },
        }),
      }),
    });
    const { cache, model } = setup(base);
    await expect(readAll((await model.doStream(CALL)).stream)).rejects.toThrow('socket hang up');
    await cache.flush();
    expect(cache.stats().writes).toBe(0);
  });

  it('does not store a stream whose reader cancels early, and cancels the provider stream', async () => {
    let cancelled = false;
    const parts = textParts('one two three four five');
    const base = new MockLanguageModelV4({
      doStream: async () => {
        let index = 0;
        return {
          stream: new ReadableStream<LanguageModelV4StreamPart>({
            pull(controller) {
              controller.enqueue(parts[index++]!);
              if (index === parts.length) controller.close();
            },
            cancel() {
              cancelled = true;
            },
          }),
        };
      },
    });
    const { cache, model } = setup(base);
    const reader = (await model.doStream(CALL)).stream.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    await cache.flush();
    expect(cancelled).toBe(true);
    expect(cache.stats().writes).toBe(0);
  });

  it('streamText results from a replay equal the original: text, reasoning, files, sources, tool calls, usage', async () => {
    const base = streamingModel(everyPart);
    const { cache, model } = setup(base);
    const run = async () => {
      const result = streamText({ model, prompt: 'everything' });
      const out = {
        text: await result.text,
        reasoningText: await result.reasoningText,
        files: (await result.files).map((file) => ({ mediaType: file.mediaType, bytes: [...file.uint8Array] })),
        sources: await result.sources,
        toolCalls: await result.toolCalls,
        toolResults: await result.toolResults,
        usage: await result.usage,
        finishReason: await result.finishReason,
        response: await result.response,
        warnings: await result.warnings,
      };
      await cache.flush();
      return out;
    };
    const first = await run();
    const second = await run();
    expect(base.doStreamCalls).toHaveLength(1);
    expect(second.text).toBe('Hello, world');
    expect(second.reasoningText).toBe('Let me think.');
    expect(second.files[0]).toEqual({ mediaType: 'image/png', bytes: [...PNG] });
    expect(second.sources).toHaveLength(2);
    expect(second.toolCalls[0]).toMatchObject({ toolName: 'search', input: { q: 'cats' } });
    expect(second.response.timestamp).toBeInstanceOf(Date);
    expect(second.response.modelId).toBe('mock-model-2026-01-01');
    const { messages: _a, ...firstResponse } = first.response;
    const { messages: _b, ...secondResponse } = second.response;
    expect({ ...second, response: secondResponse }).toEqual({ ...first, response: firstResponse });
  });
});

describe('generate results', () => {
  it('round-trip file bytes, V4 URL file data, reasoning and the timestamp through generateText', async () => {
    const base = generatingModel(() =>
      generateResult([
        { type: 'reasoning', text: 'hmm', providerMetadata: { mock: { sig: 's' } } },
        { type: 'text', text: 'Here is a cat.' },
        { type: 'file', mediaType: 'image/png', data: { type: 'data', data: PNG } },
        { type: 'file', mediaType: 'image/png', data: { type: 'url', url: PNG_URL } },
        { type: 'source', sourceType: 'url', id: 's1', url: 'https://example.com', title: 'Example' },
      ]),
    );
    const { cache, model } = setup(base);
    const first = await generateText({ model, prompt: 'a cat' });
    await cache.flush();
    const second = await generateText({ model, prompt: 'a cat' });
    expect(base.doGenerateCalls).toHaveLength(1);
    expect(second.files[0]?.uint8Array).toEqual(first.files[0]?.uint8Array);
    expect([...(second.files[0]?.uint8Array ?? [])]).toEqual([...PNG]);
    expect(second.reasoningText).toBe('hmm');
    expect(second.sources).toEqual(first.sources);
    expect(second.response.timestamp).toEqual(new Date(1_700_000_000_000));
    expect(second.content).toEqual(first.content);
  });

  it('a stream hit from a generate entry and a generate hit from a stream entry', async () => {
    const base = new MockLanguageModelV4({
      doGenerate: async () =>
        generateResult([
          { type: 'reasoning', text: 'why' },
          { type: 'text', text: 'because' },
        ]),
      doStream: async () => ({ stream: convertArrayToReadableStream(everyPart()) }),
    });
    const { cache, model } = setup(base);
    await model.doGenerate({ ...CALL, temperature: 0.1 });
    await cache.flush();
    const parts = await readAll((await model.doStream({ ...CALL, temperature: 0.1 })).stream);
    expect(parts.map((part) => part.type)).toEqual([
      'stream-start',
      'response-metadata',
      'reasoning-start',
      'reasoning-delta',
      'reasoning-end',
      'text-start',
      'text-delta',
      'text-end',
      'finish',
    ]);
    expect(base.doStreamCalls).toHaveLength(0);

    await readAll((await model.doStream({ ...CALL, temperature: 0.2 })).stream);
    await cache.flush();
    const folded = await model.doGenerate({ ...CALL, temperature: 0.2 });
    expect(base.doGenerateCalls).toHaveLength(1);
    expect(folded.content.map((item) => item.type)).toEqual([
      'reasoning',
      'text',
      'tool-call',
      'tool-result',
      'source',
      'source',
      'file',
      'file',
      'reasoning-file',
      'custom',
    ]);
    expect(folded.content[1]).toEqual({
      type: 'text',
      text: 'Hello, world',
      providerMetadata: { mock: { itemId: 'msg_1' } },
    });
    expect(folded.response?.timestamp).toEqual(new Date(1_700_000_000_000));
    expect(folded.warnings).toEqual([{ type: 'other', message: 'a warning' }]);
    expect(folded.providerMetadata).toMatchObject({ mock: { cost: 0.5 }, llmemo: { hit: true } });
  });

  it("a generate result with finish reason 'error' or no content is not stored", async () => {
    const results = [
      generateResult([{ type: 'text', text: 'oops' }], { finishReason: { unified: 'error', raw: 'error' } }),
      generateResult([]),
    ];
    for (const result of results) {
      const base = generatingModel(() => result);
      const { cache, model } = setup(base);
      await model.doGenerate(CALL);
      await cache.flush();
      await model.doGenerate(CALL);
      expect(base.doGenerateCalls).toHaveLength(2);
      expect(cache.stats()).toMatchObject({ skips: 2, writes: 0 });
    }
  });
});

describe('models of an unknown spec version', () => {
  it('go to the provider uncached', async () => {
    const cache = createCache();
    const middleware = cacheMiddleware({ cache });
    let calls = 0;
    const model = {
      specificationVersion: 'v9',
      provider: 'future',
      modelId: 'm',
      doGenerate: async () => {
        calls++;
        return { answer: 42 };
      },
      doStream: async () => ({ stream: convertArrayToReadableStream([]) }),
    };
    const params = { ...CALL, providerOptions: { llmemo: { ttl: '1h' } } };
    for (let i = 0; i < 2; i++) {
      const result = await middleware.wrapGenerate({
        doGenerate: model.doGenerate,
        doStream: model.doStream,
        params,
        model,
      });
      expect(result).toEqual({ answer: 42 });
    }
    expect(calls).toBe(2);
    expect(cache.stats().misses).toBe(0);
  });
});

describe('an entry this version cannot read', () => {
  it('is recomputed and overwritten (generate and stream); with mode replay it is a CACHE_MISS', async () => {
    const base = new MockLanguageModelV4({
      doGenerate: async () => generateResult([{ type: 'text', text: 'fresh' }]),
      doStream: async () => ({ stream: convertArrayToReadableStream(textParts('fresh stream')) }),
    });
    const { cache, model } = setup(base);
    const plant = async (params: typeof CALL) => {
      const request = chatRequest(base, 'v4', params, 'positional');
      expect(await cache.set(request, { format: 99, something: 'else' })).toBe(true);
    };
    await plant(CALL);
    const replay = { ...CALL, providerOptions: { llmemo: { mode: 'replay' } } };
    await expect(model.doGenerate(replay)).rejects.toMatchObject({ code: 'CACHE_MISS' });
    expect((await model.doGenerate(CALL)).content).toEqual([{ type: 'text', text: 'fresh' }]);
    await cache.flush();
    expect((await model.doGenerate(replay)).content).toEqual([{ type: 'text', text: 'fresh' }]);
    expect(base.doGenerateCalls).toHaveLength(1);

    const streamCall = { ...CALL, temperature: 1 };
    await plant(streamCall);
    const parts = await readAll((await model.doStream(streamCall)).stream);
    await cache.flush();
    expect(withoutCacheInfo(parts)).toEqual(textParts('fresh stream'));
    await readAll((await model.doStream(streamCall)).stream);
    expect(base.doStreamCalls).toHaveLength(1);
  });
});

describe('an unreadable entry ends every lookup it takes', () => {
  it('the refresh lookup after it, committed or read-only, never holds the store a swap retires', {
    timeout: 8000,
  }, async () => {
    const base = new MockLanguageModelV4({
      doStream: async () => ({ stream: convertArrayToReadableStream(textParts('fresh stream')) }),
    });
    const { cache, model } = setup(base);
    const unreadable = { format: 99, something: 'else' };
    await cache.set(chatRequest(base, 'v4', CALL, 'positional'), unreadable);
    await readAll((await model.doStream(CALL)).stream);
    const readOnly = { ...CALL, temperature: 1, providerOptions: { llmemo: { mode: 'read-only' } } };
    await cache.set(chatRequest(base, 'v4', { ...CALL, temperature: 1 }, 'positional'), unreadable);
    await readAll((await model.doStream(readOnly)).stream);
    expect(base.doStreamCalls).toHaveLength(2);
    const started = performance.now();
    await cache.useStore('memory://');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
