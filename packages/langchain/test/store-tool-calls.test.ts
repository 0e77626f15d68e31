// storeToolCalls end to end: the real @langchain/openai ChatOpenAI against the local OpenAI-compatible server, whose
// scripted answers ask for tool calls, through LlmemoCache (BaseCache.update) and withCache (invoke and streams).
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { tool } from '@langchain/core/tools';
import { isLlmemoError, type ResponseCache, type SkipEvent } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LlmemoCache, withCache } from '../src/index.js';
import { CHAT_PATH, chatModel, collect, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'weather',
  description: 'Weather for a city',
  schema: z.object({ city: z.string() }),
});
const sendEmail = tool(async ({ to }: { to: string }) => `sent to ${to}`, {
  name: 'sendEmail',
  description: 'Sends an email',
  schema: z.object({ to: z.string() }),
});

const ASKS = {
  weather: { toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }] },
  sendEmail: { toolCalls: [{ name: 'sendEmail', arguments: { to: 'ceo@example.com' } }] },
  text: { text: 'Just text' },
};

type Path = 'LlmemoCache invoke' | 'withCache invoke' | 'withCache stream' | 'withCache streamEvents';
const PATHS: Path[] = ['LlmemoCache invoke', 'withCache invoke', 'withCache stream', 'withCache streamEvents'];

function modelFor(path: Path, cache: ResponseCache, storeToolCalls: boolean | string[]): BaseChatModel {
  if (path === 'LlmemoCache invoke') {
    return chatModel(ctx.server, { cache: new LlmemoCache({ cache, storeToolCalls }) });
  }
  return withCache(chatModel(ctx.server), { cache, storeToolCalls });
}

/** The same call twice; how many reached the server. */
async function twice(path: Path, model: BaseChatModel, cache: ResponseCache, prompt: string): Promise<number> {
  const bound = model.bindTools!([weather, sendEmail]);
  const before = ctx.server.count(CHAT_PATH);
  for (let i = 0; i < 2; i++) {
    if (path === 'withCache stream') await collect(await bound.stream(prompt));
    else if (path === 'withCache streamEvents') await (bound as BaseChatModel).streamEvents(prompt);
    else await bound.invoke(prompt);
    await cache.flush();
  }
  return ctx.server.count(CHAT_PATH) - before;
}

describe.each(['sqlite', 'redis'] as const)('storeToolCalls on %s', (kind) => {
  async function setup(path: Path, storeToolCalls: boolean | string[]) {
    const cache = await makeCache(kind);
    const skips: SkipEvent[] = [];
    cache.on('skip', (event) => skips.push(event));
    return { cache, skips, model: modelFor(path, cache, storeToolCalls) };
  }

  describe.each(PATHS)('%s', (path) => {
    it('false stores no answer that asks for a tool call, says why, and still stores text', async () => {
      const { cache, skips, model } = await setup(path, false);
      ctx.server.script(ASKS.weather);
      expect(await twice(path, model, cache, 'weather?')).toBe(2);
      const reasons = skips.filter((skip) => skip.code === 'NOT_CACHEABLE').map((skip) => skip.reason);
      expect(reasons).toHaveLength(2);
      expect(reasons[0]).toMatch(/tool call \(weather\).*storeToolCalls is false.*run the tool again/);
      ctx.server.script(ASKS.text);
      expect(await twice(path, model, cache, 'just talk')).toBe(1);
    });

    it('a list keeps out only the answers that call a listed tool', async () => {
      const { cache, skips, model } = await setup(path, ['sendEmail']);
      ctx.server.script(ASKS.sendEmail);
      expect(await twice(path, model, cache, 'email the ceo')).toBe(2);
      expect(skips.at(-1)?.reason).toMatch(/calls 'sendEmail', listed in storeToolCalls/);
      ctx.server.script(ASKS.weather);
      expect(await twice(path, model, cache, 'weather?')).toBe(1);
    });
  });

  it('true (the default) stores tool-call answers', async () => {
    const { cache, model } = await setup('withCache invoke', true);
    ctx.server.script(ASKS.sendEmail);
    expect(await twice('withCache invoke', model, cache, 'email the ceo')).toBe(1);
  });
});

describe('storeToolCalls validation', () => {
  it.each([['yes'], [['']], [[1]], [null]])('rejects %j with INVALID_OPTIONS', async (value) => {
    const cache = await makeCache('memory');
    for (const make of [
      () => new LlmemoCache({ cache, storeToolCalls: value as never }),
      () => withCache(chatModel(ctx.server), { cache, storeToolCalls: value as never }),
    ]) {
      let thrown: unknown;
      try {
        make();
      } catch (error) {
        thrown = error;
      }
      expect(isLlmemoError(thrown, 'INVALID_OPTIONS')).toBe(true);
      expect((thrown as Error).message).toMatch(/storeToolCalls must be true, false, or a list/);
    }
  });
});
