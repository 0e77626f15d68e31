// `pnpm --filter @llmemo/example-ai-sdk-fixtures record:local`: records the fixtures the tests replay, against the
// local OpenAI-compatible server from @llmemo/test-support (no API key, no network). With a real key, record with
// `LLMEMO_MODE=read-write OPENAI_API_KEY=sk-… pnpm exec vitest run examples/ai-sdk-fixtures` instead.
import { createOpenAITestServer } from '@llmemo/test-support/openai';
import { scriptLocalModel, TICKETS } from './local-model.js';
import { fixtureCache, openaiProvider } from './setup.js';
import { createTriage } from './triage.js';

const server = await createOpenAITestServer();
scriptLocalModel(server);
const cache = fixtureCache({ mode: 'read-write' });
try {
  // The app keeps its real base URL; only the transport goes to the local server.
  const local: typeof fetch = (url, init) => fetch(String(url).replace('https://api.openai.com/v1', server.url), init);
  const triage = createTriage(openaiProvider(local), cache);
  for (const ticket of TICKETS) {
    const { category } = await triage.classify(ticket);
    const draft = await triage.draftReply(ticket);
    console.log(`${category.padEnd(8)} ${draft.deltas.length} deltas  ${ticket}`);
  }
  await cache.flush();
  console.log(`${server.count()} provider requests; fixtures in examples/ai-sdk-fixtures/fixtures/`);
} finally {
  await cache.close();
  await server.close();
}
