// `pnpm --filter @llmemo/example-langchain-agent start`: with OPENAI_API_KEY set it calls OpenAI; without it, a
// local OpenAI-compatible server stands in, with a realistic delay, so the example runs anywhere.
import { mkdirSync, rmSync } from 'node:fs';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { agentTurn, type ExampleReport, runExample, type Step } from './app.js';

const DB = '.llmemo/langchain-example.sqlite';

function print(title: string, steps: Step[]): void {
  console.log(`\n▶ ${title}`);
  for (const step of steps) {
    const calls = step.misses === 0 ? 'all from the cache' : `${step.misses} cache miss(es) → provider`;
    console.log(
      `  ${step.label.padEnd(28)} ${`${step.ms.toFixed(0)} ms`.padStart(8)}   ${calls.padEnd(28)} ${step.result}`,
    );
  }
}

let server: OpenAITestServer | undefined;
let baseURL: string | undefined;
let apiKey = process.env.OPENAI_API_KEY;
if (!apiKey) {
  // A fixed port: the endpoint is part of every cache key, so a later run with --keep must use the same one.
  server = await createOpenAITestServer({ port: 18_787 }).catch(() => createOpenAITestServer());
  server.setLatency({ responseMs: 400, firstTokenMs: 300, perTokenMs: 40 });
  server.script(agentTurn);
  baseURL = server.url;
  apiKey = 'local';
  console.log('OPENAI_API_KEY is not set: using a local OpenAI-compatible server that answers in ~0.4 s.');
}

// A fresh file each run shows a miss then a hit; pass --keep to start from the previous run's entries.
if (!process.argv.includes('--keep')) rmSync(DB, { force: true });
mkdirSync('.llmemo', { recursive: true });

try {
  const report: ExampleReport = await runExample({ store: `sqlite://${DB}`, apiKey, baseURL });
  print('createAgent + ChatOpenAI({ cache: new LlmemoCache({ cache }) })', report.agent);
  print('withCache(new ChatOpenAI()).stream(...)', report.stream);
  print('new CachedEmbeddings({ embeddings: new OpenAIEmbeddings() })', report.embeddings);
  console.log(`\nEntries are in ${DB}; run again with --keep and every step is a hit.`);
} finally {
  await server?.close();
}
