import { tool } from '@langchain/core/tools';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { createCache } from '@llmemo/core';
import { CachedEmbeddings, LlmemoCache, withCache } from '@llmemo/langchain';
import { createAgent } from 'langchain';
import { z } from 'zod';

export interface ExampleOptions {
  /** The cache's store, e.g. 'sqlite://.llmemo/langchain-example.sqlite'. */
  store: string;
  apiKey: string;
  /** An OpenAI-compatible endpoint; undefined for api.openai.com. */
  baseURL?: string;
  chatModel?: string;
  embeddingModel?: string;
}

/** One measured call: how long it took, and its cache misses (model calls, or texts sent to embed). */
export interface Step {
  label: string;
  ms: number;
  misses: number;
  result: string;
}

export interface ExampleReport {
  agent: Step[];
  stream: Step[];
  embeddings: Step[];
}

const weather = tool(async ({ city }: { city: string }) => `18 °C and clear in ${city}`, {
  name: 'weather',
  description: 'The current weather for a city',
  schema: z.object({ city: z.string() }),
});

/**
 * How the local stand-in server answers (see main.ts): when the weather tool is offered and has not run yet, call
 * it; once it has, answer with its result; any other request gets the server's default echo.
 */
export function agentTurn(request: {
  toolNames: readonly string[];
  toolResults: readonly { output: string }[];
}): { toolCalls: { name: string; arguments: Record<string, unknown> }[] } | { text: string } | undefined {
  if (!request.toolNames.includes('weather')) return undefined;
  return request.toolResults.length === 0
    ? { toolCalls: [{ name: 'weather', arguments: { city: 'Lisbon' } }] }
    : { text: `Lisbon: ${request.toolResults[0]?.output}.` };
}

/**
 * Runs an agent twice, streams an answer twice and embeds two overlapping batches of documents, all through one
 * llmemo cache. Every second run is served from the cache: zero provider calls.
 */
export async function runExample(options: ExampleOptions): Promise<ExampleReport> {
  const cache = createCache({ store: options.store, namespace: 'langchain-example', ttl: '1d' });
  const openai = { apiKey: options.apiKey, configuration: { baseURL: options.baseURL }, maxRetries: 1 };
  const chatModel = options.chatModel ?? 'gpt-4o-mini';

  /** Runs `fn`, timing it and counting cache misses: each is a model call, or one text sent to embed. */
  async function step(label: string, fn: () => Promise<string>): Promise<Step> {
    const misses = cache.stats().misses;
    const started = performance.now();
    const result = await fn();
    return { label, ms: performance.now() - started, misses: cache.stats().misses - misses, result };
  }

  try {
    // 1. An agent: `cache:` takes a LangChain BaseCache, and LlmemoCache keeps hitting inside createAgent.
    const agentModel = new ChatOpenAI({ model: chatModel, ...openai, cache: new LlmemoCache({ cache }) });
    const agent = createAgent({ model: agentModel, tools: [weather] });
    const ask = async () => {
      const state = await agent.invoke({ messages: [{ role: 'user', content: 'What is the weather in Lisbon?' }] });
      return String(state.messages.at(-1)?.content);
    };
    const agentSteps = [await step('agent, first run', ask), await step('agent, same question again', ask)];

    // 2. Streaming: a BaseCache never sees .stream(); withCache records the chunks and replays them.
    const streamer = withCache(new ChatOpenAI({ model: chatModel, ...openai }), { cache });
    const stream = async () => {
      let text = '';
      for await (const chunk of await streamer.stream('Write one sentence about caching.')) text += chunk.text;
      return text;
    };
    const streamSteps = [await step('stream, first time', stream), await step('stream, replayed', stream)];

    // 3. Embeddings: only texts the cache has not seen go to the provider.
    const embeddings = new CachedEmbeddings({
      embeddings: new OpenAIEmbeddings({ model: options.embeddingModel ?? 'text-embedding-3-small', ...openai }),
      cache,
    });
    const embed = (texts: string[]) => async () => {
      const vectors = await embeddings.embedDocuments(texts);
      return `${vectors.length} vectors of ${vectors[0]?.length ?? 0} dimensions`;
    };
    const docs = ['Caching saves tokens.', 'Redis is shared by every server.', 'SQLite needs no server.'];
    const embeddingSteps = [
      await step('embed 3 documents', embed(docs)),
      await step('embed the 3 plus 1 new', embed([...docs, 'Streams replay from the cache.'])),
    ];
    return { agent: agentSteps, stream: streamSteps, embeddings: embeddingSteps };
  } finally {
    await cache.close();
  }
}
