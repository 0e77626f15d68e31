// LangChain: an invoke() that hits the cache, through llmemo's LlmemoCache and withCache, against LangChain's own
// InMemoryCache and @langchain/community's ioredis RedisCache. Same model on both sides (a real ChatOpenAI pointed
// at the local test server, which a hit never calls), same prompt, same redis-server.

import { RedisCache } from '@langchain/community/caches/ioredis';
import type { BaseCache } from '@langchain/core/caches';
import { InMemoryCache } from '@langchain/core/caches';
import { AIMessage, type BaseMessage, getBufferString, HumanMessage, SystemMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { createCache, type ResponseCache } from '@llmemo/core';
import { LlmemoCache, withCache } from '@llmemo/langchain';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { startRedisServer } from '@llmemo/test-support/redis';
import { Redis } from 'ioredis';
import { bestOf, type Row, type Suite, table } from './harness.js';
import { paired } from './paired.js';

const SENTENCE = 'The cache answers a repeated request from storage so the provider is never called twice. ';

/** A multi-turn conversation of about `bytes` characters. */
function conversation(bytes: number) {
  const turns = Math.max(2, Math.round(bytes / 500));
  const text = SENTENCE.repeat(Math.ceil(bytes / turns / SENTENCE.length)).slice(0, Math.floor(bytes / turns));
  const messages: BaseMessage[] = [new SystemMessage('You are a helpful assistant. Answer briefly.')];
  for (let i = 0; i < turns; i++) messages.push(i % 2 === 0 ? new HumanMessage(text) : new AIMessage(text));
  return messages;
}

const PROMPTS: [string, () => string | ReturnType<typeof conversation>][] = [
  ['one-line prompt', () => 'What is the capital of France?'],
  ['8-turn conversation (4 KB)', () => conversation(4_000)],
];

/**
 * The machine is shared (2 cores, other suites running): one ~0.7 s sample per side can land in someone else's
 * burst. Each side is measured in several interleaved rounds and keeps its fastest round, the estimate least
 * disturbed by other processes.
 */
const ROUNDS = 3;

function model(server: OpenAITestServer, cache?: BaseCache) {
  return new ChatOpenAI({
    model: 'gpt-4o-mini',
    apiKey: 'sk-bench',
    maxRetries: 0,
    temperature: 0,
    configuration: { baseURL: server.url },
    ...(cache ? { cache } : {}),
  });
}

/** Issue 14's "today" figure, for the one row of this suite its table names. */
function today(label: string, prompt: string): string | undefined {
  return label.startsWith('LlmemoCache (memory') && prompt === 'one-line prompt' ? '1.52×' : undefined;
}

async function hits(
  server: OpenAITestServer,
  ours: () => ChatOpenAI,
  baseline: () => ChatOpenAI,
  target: string,
  label: string,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [name, prompt] of PROMPTS) {
    const input = prompt();
    const oursModel = ours();
    const baselineModel = baseline();
    // Warm both caches with the same answer; from here on neither side calls the server.
    await oursModel.invoke(input);
    await baselineModel.invoke(input);
    const before = server.count();
    const results = await bestOf(
      ROUNDS,
      { llmemo: () => oursModel.invoke(input), baseline: () => baselineModel.invoke(input) },
      { timeMs: 500, warmupMs: 100 },
    );
    if (server.count() !== before) throw new Error(`a hit called the provider (${label}, ${name})`);
    rows.push({
      scenario: `${label}: invoke hit, ${name}`,
      measured: results.llmemo!,
      baseline: results.baseline!,
      target,
      ...(today(label, name) ? { today: today(label, name) } : {}),
    });
    if (today(label, name)) {
      // The row again, the two sides alternating call by call (see paired.ts): the same comparison, with
      // other processes' bursts landing on both sides alike.
      const pair = await paired(
        () => oursModel.invoke(input),
        () => baselineModel.invoke(input),
      );
      rows.push({ scenario: `${label}: invoke hit, ${name}, paired`, measured: pair.a, baseline: pair.b, target });
    }
  }
  return rows;
}

/**
 * The BaseCache call on its own, `lookup(prompt, llmKey)` of a stored one-line prompt, paired: what each cache adds
 * to an invoke hit apart from LangChain's own work. `LlmemoCache` remembers the key core derived for the exact pair.
 */
async function lookups(server: OpenAITestServer, cache: ResponseCache): Promise<Row[]> {
  const ours = new LlmemoCache({ cache });
  const theirs = new InMemoryCache();
  const llmKey = model(server)._getSerializedCacheKeyParametersForCall({} as never);
  // The prompt string BaseChatModel hands its cache for one message (ChatPromptValue.toString()).
  const prompt = getBufferString([new HumanMessage('What is the capital of France?')]);
  for (const side of [ours, theirs]) await side.update(prompt, llmKey, [{ text: 'Paris.' }]);
  if ((await ours.lookup(prompt, llmKey)) === null) throw new Error('LlmemoCache.lookup missed');
  const pair = await paired(
    () => ours.lookup(prompt, llmKey),
    () => theirs.lookup(prompt, llmKey),
  );
  return [
    {
      scenario: 'LlmemoCache.lookup vs InMemoryCache.lookup, one-line prompt, paired',
      measured: pair.a,
      baseline: pair.b,
      target: '',
    },
  ];
}

async function memory(server: OpenAITestServer): Promise<string> {
  const caches: ResponseCache[] = [];
  const llmemo = () => {
    const cache = createCache({ store: 'memory://' });
    caches.push(cache);
    return cache;
  };
  try {
    const rows = [
      ...(await hits(
        server,
        () => model(server, new LlmemoCache({ cache: llmemo() })),
        () => model(server, new InMemoryCache()),
        '≤ 1.0×',
        'LlmemoCache (memory://)',
      )),
      ...(await hits(
        server,
        () => withCache(model(server), { cache: llmemo() }),
        () => model(server, new InMemoryCache()),
        '',
        'withCache (memory://)',
      )),
    ];
    rows.push(...(await lookups(server, llmemo())));
    return table("In-process: llmemo on memory:// vs LangChain's InMemoryCache", rows);
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
  }
}

async function redis(server: OpenAITestServer): Promise<string> {
  const redisServer = await startRedisServer();
  const caches: ResponseCache[] = [];
  const clients: Redis[] = [];
  try {
    const llmemo = async () => {
      const cache = createCache({ store: redisServer.url, timeoutMs: 5000 });
      await (cache.store as { ready?: () => Promise<void> }).ready?.();
      caches.push(cache);
      return cache;
    };
    const ioredis = () => {
      const client = new Redis(redisServer.url);
      clients.push(client);
      return client;
    };
    const ours = await llmemo();
    const rows = await hits(
      server,
      () => model(server, new LlmemoCache({ cache: ours })),
      () => model(server, new RedisCache(ioredis())),
      '≤ 0.8×',
      'LlmemoCache (redis://)',
    );
    return table("Redis: LlmemoCache vs @langchain/community's ioredis RedisCache, same redis-server", rows);
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
    for (const client of clients) client.disconnect();
    await redisServer.stop();
  }
}

export const suite: Suite = {
  name: 'langchain',
  async run() {
    const server = await createOpenAITestServer();
    try {
      return `${await memory(server)}\n${await redis(server)}`;
    } finally {
      await server.close();
    }
  },
};
