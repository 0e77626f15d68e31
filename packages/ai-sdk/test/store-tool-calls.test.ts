// storeToolCalls end to end: the real @ai-sdk/openai provider against the local OpenAI-compatible server, whose
// scripted answers ask for tool calls. Request counts prove what was stored.
import { isLlmemoError, type SkipEvent } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import { generateText, streamText, tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cacheMiddleware } from '../src/index.js';
import { cached, closeCaches, newCache, PERSISTENT_STORES, provider } from './helpers.js';

const server = useOpenAITestServer();
afterEach(closeCaches);

// No `execute`: the SDK returns the tool call to the app, which is where the side effect would run.
const tools = {
  weather: tool({ description: 'Weather for a city', inputSchema: z.object({ city: z.string() }) }),
  sendEmail: tool({ description: 'Sends an email', inputSchema: z.object({ to: z.string() }) }),
};

const ASKS = {
  weather: { toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] },
  sendEmail: { toolCalls: [{ name: 'sendEmail', arguments: { to: 'ceo@example.com' } }] },
  text: { text: 'Just text' },
} as const;

describe.each(PERSISTENT_STORES)('storeToolCalls on %s', (store) => {
  const path = '/v1/chat/completions';

  function setup(storeToolCalls: boolean | string[]) {
    const cache = newCache(store);
    const skips: SkipEvent[] = [];
    cache.on('skip', (event) => skips.push(event));
    const model = cached(provider(server).chat('gpt-4o-mini'), cache, { storeToolCalls });
    return { cache, skips, model };
  }

  /** Runs the same call twice (generate or stream) and says how many reached the server. */
  async function twice(
    model: ReturnType<typeof setup>['model'],
    cache: ReturnType<typeof setup>['cache'],
    prompt: string,
    how: 'generate' | 'stream',
  ): Promise<number> {
    const before = server.count(path);
    for (let i = 0; i < 2; i++) {
      if (how === 'generate') {
        await generateText({ model, prompt, tools });
      } else {
        const result = streamText({ model, prompt, tools });
        await result.consumeStream();
        await result.toolCalls;
      }
      await cache.flush();
    }
    return server.count(path) - before;
  }

  for (const how of ['generate', 'stream'] as const) {
    it(`${how}: false stores no answer that asks for a tool call, and says why`, async () => {
      const { cache, skips, model } = setup(false);
      server.script(ASKS.weather);
      expect(await twice(model, cache, `weather ${how}`, how)).toBe(2);
      expect(skips.map((skip) => skip.code)).toEqual(['NOT_CACHEABLE', 'NOT_CACHEABLE']);
      expect(skips[0]?.reason).toMatch(/tool call \(weather\).*storeToolCalls is false.*run the tool again/);
      expect(skips[0]?.key).toMatch(/^llmemo:/);
      server.script(ASKS.text);
      expect(await twice(model, cache, `text ${how}`, how)).toBe(1);
    });

    it(`${how}: a list keeps out only the answers that call a listed tool`, async () => {
      const { cache, skips, model } = setup(['sendEmail']);
      server.script(ASKS.sendEmail);
      expect(await twice(model, cache, `email ${how}`, how)).toBe(2);
      expect(skips[0]?.reason).toMatch(/calls 'sendEmail', listed in storeToolCalls/);
      server.script(ASKS.weather);
      expect(await twice(model, cache, `weather ${how}`, how)).toBe(1);
    });
  }

  it('true (the default) stores tool-call answers like any other', async () => {
    const { cache, model } = setup(true);
    server.script(ASKS.sendEmail);
    expect(await twice(model, cache, 'default', 'generate')).toBe(1);
  });
});

describe('storeToolCalls validation', () => {
  it.each([['yes'], [['']], [[1]], [null]])('rejects %j with INVALID_OPTIONS', (value) => {
    const cache = newCache('memory');
    let thrown: unknown;
    try {
      cacheMiddleware({ cache, storeToolCalls: value as never });
    } catch (error) {
      thrown = error;
    }
    expect(isLlmemoError(thrown, 'INVALID_OPTIONS')).toBe(true);
    expect((thrown as Error).message).toMatch(/cacheMiddleware\.storeToolCalls must be true, false, or a list/);
  });
});
