// `pnpm --filter @llmemo/example-ai-sdk-assistant start`: the assistant answers the same questions twice for one
// tenant and once for another, and shows what the cache saved. With OPENAI_API_KEY set it calls the real API;
// without, a local OpenAI-compatible server plays the model. LLMEMO_STORE picks the store (default: a SQLite file;
// e.g. LLMEMO_STORE=redis://localhost:6379 to share the cache between processes). LLMEMO_REPLAY=recorded plays
// cached answers with their original timing.
import { createOpenAI } from '@ai-sdk/openai';
import { createCache } from '@llmemo/core';
import { createOpenAITestServer } from '@llmemo/test-support/openai';
import { createAssistant } from './assistant.js';
import { runPlan, scriptLocalModel } from './plan.js';

const server = process.env.OPENAI_API_KEY ? undefined : await createOpenAITestServer();
if (server) scriptLocalModel(server);
const openai = server ? createOpenAI({ baseURL: server.url, apiKey: 'local' }) : createOpenAI();
const cache = createCache({ store: process.env.LLMEMO_STORE ?? 'sqlite://.llmemo/assistant.sqlite', ttl: '1d' });
// With the real API there is no request log: each cache miss is one provider request.
let misses = 0;
cache.on('miss', () => misses++);
try {
  const assistant = createAssistant(openai, cache, process.env.LLMEMO_REPLAY === 'recorded' ? 'recorded' : 'instant');
  const rows = await runPlan(assistant, ['acme', 'acme', 'globex'], () => server?.count() ?? misses);
  console.table(rows);
  const stats = cache.stats();
  console.log(
    `${stats.hits} hits, ${stats.misses} misses, ${stats.tokensSaved.input + stats.tokensSaved.output} tokens saved.`,
  );
  console.log('Run it again: every answer now comes from the cache, even in a new process.');
} finally {
  await cache.close();
  await server?.close();
}
