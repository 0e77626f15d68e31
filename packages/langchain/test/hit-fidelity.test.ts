// Issue 11: a withCache hit tells callbacks and callers what LangChain's own cache path tells them: the reply keeps
// `response_metadata.tokenUsage`, an invoke hit fires handleLLMNewToken once with the whole text, and handleLLMEnd
// gets `{ cached: true }` (LangSmith's `extra.cached`) for invoke and stream hits alike.
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { describe, expect, it } from 'vitest';
import { LlmemoCache, withCache } from '../src/index.js';
import { CHAT_PATH, chatModel, collect, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

class Recorder extends BaseCallbackHandler {
  name = 'recorder';
  tokens: string[] = [];
  ends: (Record<string, unknown> | undefined)[] = [];
  override handleLLMNewToken(token: string) {
    this.tokens.push(token);
  }
  override handleLLMEnd(_output: unknown, _runId: string, _parent?: string, _tags?: string[], extra?: unknown) {
    this.ends.push(extra as Record<string, unknown> | undefined);
  }
}

describe.each(['sqlite', 'redis'] as const)('withCache hits on %s match LangChain’s cache path', (store) => {
  it('invoke: tokenUsage kept, one token callback with the whole text, cached: true', async () => {
    ctx.server.script({ text: 'Paris is the capital.', usage: { inputTokens: 7, outputTokens: 4 } });
    const cache = await makeCache(store);
    const model = withCache(chatModel(ctx.server), { cache });
    const miss = await model.invoke('capital?');
    const recorder = new Recorder();
    const hit = await model.invoke('capital?', { callbacks: [recorder] });
    expect(hit.response_metadata.llmemo).toMatchObject({ hit: true });
    expect(hit.response_metadata.tokenUsage).toEqual(miss.response_metadata.tokenUsage);
    expect(miss.response_metadata.tokenUsage).toMatchObject({ promptTokens: 7, completionTokens: 4 });
    expect(recorder.tokens).toEqual(['Paris is the capital.']);
    expect(recorder.ends).toEqual([{ cached: true }]);

    // The same as LangChain's own path through a BaseCache.
    const viaBaseCache = chatModel(ctx.server, {
      cache: new LlmemoCache({ cache, namespace: `${cache.namespace}-b` }),
    });
    await viaBaseCache.invoke('capital?');
    const reference = new Recorder();
    const baseHit = await viaBaseCache.invoke('capital?', { callbacks: [reference] });
    expect(recorder.tokens).toEqual(reference.tokens);
    expect(recorder.ends).toEqual(reference.ends);
    expect(hit.response_metadata.tokenUsage).toEqual(baseHit.response_metadata.tokenUsage);
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });

  it('stream and streamEvents v2 hits: handleLLMEnd gets cached: true; misses do not', async () => {
    const cache = await makeCache(store);
    const model = withCache(chatModel(ctx.server), { cache });
    const events = async (callbacks: Recorder[]) => {
      const names: string[] = [];
      for await (const event of model.streamEvents('events', { version: 'v2', callbacks })) names.push(event.event);
      return names;
    };
    const missRecorder = new Recorder();
    await collect(await model.stream('stream me', { callbacks: [missRecorder] }));
    const missEvents = await events([missRecorder]);
    expect(missRecorder.ends).toEqual([undefined, undefined]);

    const hitRecorder = new Recorder();
    const chunks = await collect(await model.stream('stream me', { callbacks: [hitRecorder] }));
    expect(chunks.map((chunk) => chunk.content).join('')).toBe('Echo: stream me');
    expect(await events([hitRecorder])).toEqual(missEvents);
    expect(hitRecorder.ends).toEqual([{ cached: true }, { cached: true }]);
    // Stream hits still stream token by token.
    expect(hitRecorder.tokens.length).toBeGreaterThan(1);
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
  });
});
