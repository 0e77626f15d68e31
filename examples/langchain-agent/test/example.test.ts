import { join } from 'node:path';
import { createOpenAITestServer, type OpenAITestServer, tempDir } from '@llmemo/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentTurn, runExample } from '../src/app.js';

let server: OpenAITestServer;

beforeAll(async () => {
  server = await createOpenAITestServer();
  server.script(agentTurn);
});
afterAll(async () => {
  await server?.close();
});

it('every second run is served from the cache, and a new cache on the same SQLite file finds every entry', async () => {
  const store = `sqlite://${join(tempDir(), 'example.sqlite')}`;
  const report = await runExample({ store, apiKey: 'test', baseURL: server.url });

  expect(report.agent.map((step) => step.misses)).toEqual([2, 0]);
  expect(report.agent[1]?.result).toBe(report.agent[0]?.result);
  expect(report.agent[0]?.result).toBe('Lisbon: 18 °C and clear in Lisbon.');
  expect(report.stream.map((step) => step.misses)).toEqual([1, 0]);
  expect(report.stream[1]?.result).toBe(report.stream[0]?.result);
  expect(report.stream[0]?.result).toBe('Echo: Write one sentence about caching.');
  // The second batch sends only the one new document (3 texts, then 1, each in one request).
  expect(report.embeddings.map((step) => step.misses)).toEqual([3, 1]);
  expect(server.count('/v1/chat/completions')).toBe(3);
  expect(server.count('/v1/embeddings')).toBe(2);

  // Run again on the same file (what `start -- --keep` does): nothing reaches the provider.
  const again = await runExample({ store, apiKey: 'test', baseURL: server.url });
  for (const step of [...again.agent, ...again.stream, ...again.embeddings]) expect(step.misses).toBe(0);
  expect(server.count()).toBe(5);
});
