// Issue 11: providers that send no response timestamp (Anthropic, Google) get the AI SDK's `new Date()` on every
// call, so a hit would report the time of the hit. The middleware records the call's start on a miss and replays it.
import { createCache } from '@llmemo/core';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { cacheMiddleware } from '../src/index.js';
import { generateResult, textParts } from './fixtures.js';

// As @ai-sdk/anthropic and @ai-sdk/google stream: a response-metadata part with an id and no timestamp.
const untimed = () =>
  textParts('no time here').map((part) =>
    part.type === 'response-metadata' ? { type: 'response-metadata' as const, id: 'msg_1' } : part,
  );

describe('response.timestamp of a provider that sends none', () => {
  it('generateText: the hit reports the miss’s timestamp, the start of the call', async () => {
    const base = new MockLanguageModelV4({
      doGenerate: async () => generateResult([{ type: 'text', text: 'ok' }], { response: { id: 'r1' } }),
    });
    const cache = createCache();
    const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
    const before = Date.now();
    const miss = await generateText({ model, prompt: 'when?' });
    await cache.flush();
    await new Promise((resolve) => setTimeout(resolve, 15));
    const hit = await generateText({ model, prompt: 'when?' });
    expect(miss.response.timestamp.getTime()).toBeGreaterThanOrEqual(before);
    expect(hit.response.timestamp.getTime()).toBe(miss.response.timestamp.getTime());
    expect(base.doGenerateCalls).toHaveLength(1);
  });

  it('streamText: the response-metadata part gets the start time, recorded and replayed', async () => {
    const base = new MockLanguageModelV4({
      doStream: async () => ({ stream: convertArrayToReadableStream(untimed()) }),
    });
    const cache = createCache();
    const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
    const miss = streamText({ model, prompt: 'when?' });
    await miss.consumeStream();
    await cache.flush();
    await new Promise((resolve) => setTimeout(resolve, 15));
    const hit = streamText({ model, prompt: 'when?' });
    expect(await hit.text).toBe('no time here');
    expect((await hit.response).timestamp.getTime()).toBe((await miss.response).timestamp.getTime());
    // Served to generateText from the recorded stream too.
    const folded = await generateText({ model, prompt: 'when?' });
    expect(folded.response.timestamp.getTime()).toBe((await miss.response).timestamp.getTime());
    expect(base.doStreamCalls).toHaveLength(1);
  });
});
