import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { RunnableLambda } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import { END, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { createAgent } from 'langchain';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LlmemoCache, withCache } from '../src/index.js';
import { CHAT_PATH, chatModel, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'weather',
  description: 'Weather for a city',
  schema: z.object({ city: z.string() }),
});

/** First turn calls the weather tool; once its result is back, answer in text. */
function toolRound(request: { toolResults: readonly { output: string }[] }) {
  return request.toolResults.length === 0
    ? { toolCalls: [{ name: 'weather', arguments: { city: 'Paris' }, id: 'call_paris' }] }
    : { text: `It is ${request.toolResults[0]?.output}` };
}

/** A one-node graph whose node calls the model with the node's config, as LangGraph code does. */
function oneNodeGraph(model: BaseChatModel, checkpointer?: MemorySaver) {
  return new StateGraph(MessagesAnnotation)
    .addNode('model', async (state, config) => ({ messages: [await model.invoke(state.messages, config)] }))
    .addEdge(START, 'model')
    .addEdge('model', END)
    .compile(checkpointer ? { checkpointer } : undefined);
}

type Variant = 'LlmemoCache' | 'withCache';

describe.each([
  ['sqlite', 'LlmemoCache'],
  ['redis', 'LlmemoCache'],
  ['sqlite', 'withCache'],
  ['redis', 'withCache'],
] as const)('LangGraph on %s through %s', (kind, variant: Variant) => {
  async function cachedModel() {
    const cache = await makeCache(kind);
    return variant === 'LlmemoCache'
      ? chatModel(ctx.server, { cache: new LlmemoCache({ cache }) })
      : withCache(chatModel(ctx.server), { cache });
  }

  it('a StateGraph node: the second identical run makes no model call (executionInfo is not keyed)', async () => {
    const graph = oneNodeGraph(await cachedModel());
    const first = await graph.invoke({ messages: [{ role: 'user', content: 'graph hello' }] });
    const second = await graph.invoke({ messages: [{ role: 'user', content: 'graph hello' }] });
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(second.messages.at(-1)?.content).toBe(first.messages.at(-1)?.content);
  });

  it('hits across threads of a checkpointed graph', async () => {
    const graph = oneNodeGraph(await cachedModel(), new MemorySaver());
    for (const thread of ['t1', 't2']) {
      await graph.invoke(
        { messages: [{ role: 'user', content: 'same question' }] },
        { configurable: { thread_id: `${thread}-${kind}-${variant}` } },
      );
    }
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });

  it('createAgent with a tool: the second identical run makes zero model calls', async () => {
    ctx.server.script(toolRound);
    const agent = createAgent({ model: await cachedModel(), tools: [weather] });
    const run = () => agent.invoke({ messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    const first = await run();
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
    const second = await run();
    expect(ctx.server.count(CHAT_PATH)).toBe(2);
    expect(second.messages.map((m: BaseMessage) => m.type)).toEqual(['human', 'ai', 'tool', 'ai']);
    expect(second.messages.at(-1)?.content).toBe(first.messages.at(-1)?.content);
    expect(second.messages.at(-1)?.content).toBe('It is sunny in Paris');
    // The tools really were sent (the cache key holds them).
    expect((ctx.server.requests[0]!.body as { tools?: unknown[] }).tools).toHaveLength(1);
  });

  it('an entry written under streamEvents v2 is hit by a plain invoke (the version entry is not keyed)', async () => {
    const model = await cachedModel();
    const chain = RunnableLambda.from(async (input: string, config) => model.invoke(input, config));
    for await (const _event of chain.streamEvents('through events', { version: 'v2' })) {
      // drain
    }
    const plain = await chain.invoke('through events');
    expect(plain.content).toBe('Echo: through events');
    // withCache keeps streamed and invoked entries apart; LlmemoCache stores both under one entry.
    expect(ctx.server.count(CHAT_PATH)).toBe(variant === 'LlmemoCache' ? 1 : 2);
    await chain.invoke('through events');
    for await (const _event of chain.streamEvents('through events', { version: 'v2' })) {
      // drain
    }
    expect(ctx.server.count(CHAT_PATH)).toBe(variant === 'LlmemoCache' ? 1 : 2);
  });
});

describe('LangGraph token streaming from the cache (withCache)', () => {
  it("streamMode 'messages' streams the reply token by token on a hit too (langgraphjs#1229)", async () => {
    const cache = await makeCache('memory');
    const graph = oneNodeGraph(withCache(chatModel(ctx.server), { cache }));
    const tokens = async () => {
      const out: string[] = [];
      const stream = await graph.stream(
        { messages: [{ role: 'user', content: 'stream these tokens' }] },
        { streamMode: 'messages' },
      );
      for await (const [message] of stream) {
        if (AIMessageChunk.isInstance(message) && typeof message.content === 'string' && message.content) {
          out.push(message.content);
        }
      }
      return out;
    };
    const live = await tokens();
    const replayed = await tokens();
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
    expect(replayed).toEqual(live);
    expect(replayed.join('')).toBe('Echo: stream these tokens');
    expect(replayed.length).toBeGreaterThan(2);
  });

  it('LlmemoCache (BaseCache) delivers a hit as one token: LangChain sends the whole text at once', async () => {
    const cache = await makeCache('memory');
    const graph = oneNodeGraph(chatModel(ctx.server, { cache: new LlmemoCache({ cache }) }));
    const contents = async () => {
      const out: string[] = [];
      const stream = await graph.stream(
        { messages: [{ role: 'user', content: 'one token' }] },
        { streamMode: 'messages' },
      );
      for await (const [message] of stream)
        if (typeof message.content === 'string' && message.content) out.push(message.content);
      return out;
    };
    expect((await contents())[0]).toBe('Echo:');
    expect((await contents())[0]).toBe('Echo: one token');
    expect(ctx.server.count(CHAT_PATH)).toBe(1);
  });
});
