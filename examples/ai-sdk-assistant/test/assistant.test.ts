// The example, end to end against the local OpenAI-compatible server on a SQLite file: the second run of the same
// questions makes no provider request, another tenant shares the embeddings but not the answers.
import { createOpenAI } from '@ai-sdk/openai';
import { createCache } from '@llmemo/core';
import { storeUrl } from '@llmemo/test-support';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAssistant } from '../src/assistant.js';
import { runPlan, scriptLocalModel } from '../src/plan.js';

let server: OpenAITestServer;
beforeAll(async () => {
  server = await createOpenAITestServer();
  scriptLocalModel(server);
  server.setLatency({});
});
afterAll(async () => {
  await server?.close();
});

it('answers from the cache on the second run, and keeps tenants apart', async () => {
  const store = storeUrl('sqlite');
  const first = createCache({ store });
  const assistant = createAssistant(createOpenAI({ baseURL: server.url, apiKey: 'test' }), first);
  const answer = await assistant.answer('Where is my order 1234?', 'acme');
  expect(answer.text).toBe('Your order: {"status":"shipped","eta":"Thursday"}.');
  expect(answer.article).toMatch(/^Order status/);
  await first.flush();
  await first.close();

  // A new cache on the same file, as a new process would open it.
  const second = createCache({ store });
  const again = createAssistant(createOpenAI({ baseURL: server.url, apiKey: 'test' }), second);
  const rows = await runPlan(again, ['acme', 'acme', 'globex'], () => server.count());
  await second.flush();
  await second.close();

  expect(rows.map((row) => [row.tenant, row.question, row.cached])).toEqual([
    ['acme', 'Where is my order 1234?', '2/2 model calls'],
    ['acme', 'How long do refunds take?', '0/1 model calls'],
    ['acme', 'Where is my order 1234?', '2/2 model calls'],
    ['acme', 'How long do refunds take?', '1/1 model calls'],
    ['globex', 'Where is my order 1234?', '0/2 model calls'],
    ['globex', 'How long do refunds take?', '0/1 model calls'],
  ]);
  expect(rows.map((row) => row.requests)).toEqual([0, 2, 0, 0, 2, 1]);
  // Embeddings are shared by tenants: only the first run and the refunds question (new in run two) sent any.
  expect(server.count('/v1/embeddings')).toBe(3);
});
