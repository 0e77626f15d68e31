import { rmSync, writeFileSync } from 'node:fs';
import { createOpenAI } from '@ai-sdk/openai';
import { type CacheInfo, cacheMiddleware } from '@llmemo/ai-sdk';
import { createCache, type PriceTable } from '@llmemo/core';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { generateText, type LanguageModel, streamText, wrapLanguageModel } from 'ai';
import { dollars, ms, printTable, speedUp } from './table.js';

export const AI_DEMO_DB = '.llmemo/demo-ai-sdk.sqlite';
/** The prices below, for `llmemo stats --prices`. */
export const PRICES_FILE = '.llmemo/prices.json';

const MODEL = 'gpt-4o-mini';
/** USD per 1M tokens (OpenAI's list price for gpt-4o-mini): what the hits did not spend. */
const PRICES: PriceTable = { [MODEL]: { input: 0.15, output: 0.6 } };
const FIRST_TOKEN_MS = 800;
const PER_TOKEN_MS = 20;
const ANSWER =
  'A cache keeps the answer to a question it has seen before, so the second time you ask, the answer comes back ' +
  'at once and costs nothing: no tokens, no waiting for the model to think it through again.';

function tokensOf(usage: { inputTokens?: number | undefined; outputTokens?: number | undefined }): number {
  return (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
}

/** The local server playing a slow model: 800 ms to the first token, then one every 20 ms. */
async function slowLocalModel(): Promise<OpenAITestServer> {
  const server = await createOpenAITestServer();
  const words = ANSWER.split(' ').length;
  server.script({ text: ANSWER, usage: { inputTokens: 18, outputTokens: words } });
  // A generate answer arrives when every token is done.
  server.setLatency({
    firstTokenMs: FIRST_TOKEN_MS,
    perTokenMs: PER_TOKEN_MS,
    responseMs: FIRST_TOKEN_MS + PER_TOKEN_MS * words,
  });
  return server;
}

interface Row {
  call: string;
  hit: boolean;
  elapsed: number;
  firstToken?: number;
  tokens: number;
}

async function callTwice(model: LanguageModel, flush: () => Promise<void>): Promise<Row[]> {
  const rows: Row[] = [];
  const prompt = 'In two sentences: why cache LLM responses?';
  for (const attempt of ['1st', '2nd']) {
    const started = performance.now();
    const result = await generateText({ model, prompt, temperature: 0 });
    const elapsed = performance.now() - started;
    await flush();
    const hit = (result.providerMetadata?.llmemo as CacheInfo | undefined)?.hit === true;
    rows.push({ call: `generateText (${attempt})`, hit, elapsed, tokens: hit ? tokensOf(result.usage) : 0 });
  }
  for (const attempt of ['1st', '2nd']) {
    const started = performance.now();
    const result = streamText({ model, prompt: `${prompt} Answer as a stream.`, temperature: 0 });
    let firstToken: number | undefined;
    for await (const _delta of result.textStream) firstToken ??= performance.now() - started;
    const elapsed = performance.now() - started;
    await flush();
    const hit = ((await result.providerMetadata)?.llmemo as CacheInfo | undefined)?.hit === true;
    const row: Row = { call: `streamText (${attempt})`, hit, elapsed, tokens: hit ? tokensOf(await result.usage) : 0 };
    if (firstToken !== undefined) row.firstToken = firstToken;
    rows.push(row);
  }
  return rows;
}

function printRows(rows: Row[]): void {
  printTable(
    ['call', 'cache', 'latency', 'speed-up', 'first token', 'tokens saved'],
    rows.map((row, i) => {
      // Each hit is compared with the miss just before it: the same call, made for the first time.
      const miss = rows[i - 1];
      return [
        row.call,
        row.hit ? 'hit' : 'miss',
        ms(row.elapsed),
        row.hit && miss && !miss.hit ? speedUp(miss.elapsed, row.elapsed) : '',
        row.firstToken === undefined ? '' : ms(row.firstToken),
        String(row.tokens),
      ];
    }),
  );
}

/**
 * The AI SDK path: generateText and streamText, each twice, through cacheMiddleware on SQLite. The local test
 * server plays a slow model unless `real` (the `--real` flag) asks for the OpenAI API, which then bills the misses.
 */
export async function aiSdkSection({ real }: { real: boolean }): Promise<void> {
  const server = real ? undefined : await slowLocalModel();
  try {
    const openai = server ? createOpenAI({ baseURL: server.url, apiKey: 'local' }) : createOpenAI();
    rmSync(AI_DEMO_DB, { force: true });
    writeFileSync(PRICES_FILE, `${JSON.stringify(PRICES, null, 2)}\n`);
    const cache = createCache({ store: `sqlite://${AI_DEMO_DB}`, namespace: 'demo', ttl: '1h', prices: PRICES });
    const model = wrapLanguageModel({ model: openai(MODEL), middleware: cacheMiddleware({ cache }) });
    console.log(
      '\n▶ @llmemo/ai-sdk: generateText and streamText, each twice, cached in %s\n  (%s)\n',
      AI_DEMO_DB,
      server
        ? `a local server playing ${MODEL}: ${FIRST_TOKEN_MS} ms to the first token, ${PER_TOKEN_MS} ms per token; nothing is billed`
        : `the real OpenAI API, ${MODEL}: the two misses are billed`,
    );
    printRows(await callTwice(model, () => cache.flush()));
    const stats = cache.stats();
    const tokens = stats.tokensSaved.input + stats.tokensSaved.output;
    const saved = stats.moneySaved ?? 0;
    const price = PRICES[MODEL]!;
    const lines = [
      '',
      `  ${stats.hits} hits, ${stats.misses} misses: ${tokens} tokens not bought again, worth ${dollars(saved)} at ${MODEL}'s`,
      `  $${price.input.toFixed(2)} / $${price.output.toFixed(2)} per 1M input / output tokens: ${dollars((saved / Math.max(stats.hits, 1)) * 1e6)} per million repeated calls.`,
    ];
    if (server) lines.push(`  The model was called ${server.count()} times for 4 calls.`);
    console.log(lines.join('\n'));
    await cache.close();
  } finally {
    await server?.close();
  }
}
