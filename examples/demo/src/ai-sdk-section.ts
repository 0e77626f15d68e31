import { rmSync } from 'node:fs';
import { createOpenAI } from '@ai-sdk/openai';
import { type CacheInfo, cacheMiddleware } from '@llmemo/ai-sdk';
import { createCache } from '@llmemo/core';
import { createOpenAITestServer } from '@llmemo/test-support/openai';
import { generateText, type LanguageModel, streamText, wrapLanguageModel } from 'ai';
import { ms, printTable } from './table.js';

export const AI_DEMO_DB = '.llmemo/demo-ai-sdk.sqlite';

const FIRST_TOKEN_MS = 800;
const PER_TOKEN_MS = 20;
const ANSWER =
  'A cache keeps the answer to a question it has seen before, so the second time you ask, the answer comes back ' +
  'at once and costs nothing: no tokens, no waiting for the model to think it through again.';

function tokensOf(usage: { inputTokens?: number | undefined; outputTokens?: number | undefined }): number {
  return (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
}

function cacheColumn(info: CacheInfo | undefined): string {
  return info?.hit ? 'hit' : 'miss';
}

/**
 * The AI SDK path: generateText and streamText, each twice, through cacheMiddleware on SQLite. Without
 * OPENAI_API_KEY the local test server plays a slow model (800 ms to the first token, 20 ms per token); with it,
 * the real API answers.
 */
export async function aiSdkSection(): Promise<void> {
  const real = Boolean(process.env.OPENAI_API_KEY);
  const server = real ? undefined : await createOpenAITestServer();
  try {
    const words = ANSWER.split(' ').length;
    if (server) {
      server.script({ text: ANSWER, usage: { inputTokens: 18, outputTokens: words } });
      // Streams: the first token after 800 ms, then one every 20 ms; a generate answer arrives when all are done.
      server.setLatency({
        firstTokenMs: FIRST_TOKEN_MS,
        perTokenMs: PER_TOKEN_MS,
        responseMs: FIRST_TOKEN_MS + PER_TOKEN_MS * words,
      });
    }
    const openai = server ? createOpenAI({ baseURL: server.url, apiKey: 'local' }) : createOpenAI();
    rmSync(AI_DEMO_DB, { force: true });
    const cache = createCache({ store: `sqlite://${AI_DEMO_DB}`, namespace: 'demo', ttl: '1h' });
    const model: LanguageModel = wrapLanguageModel({
      model: openai('gpt-4o-mini'),
      middleware: cacheMiddleware({ cache }),
    });
    console.log(
      '\n▶ @llmemo/ai-sdk: generateText and streamText, each twice (%s)\n',
      server
        ? `local server playing a slow model: ${FIRST_TOKEN_MS} ms to the first token, ${PER_TOKEN_MS} ms per token`
        : 'the real OpenAI API, gpt-4o-mini',
    );

    const rows: string[][] = [];
    const prompt = 'In two sentences: why cache LLM responses?';
    for (const attempt of ['1st', '2nd']) {
      const started = performance.now();
      const result = await generateText({ model, prompt, temperature: 0 });
      const elapsed = performance.now() - started;
      await cache.flush();
      const info = result.providerMetadata?.llmemo as CacheInfo | undefined;
      rows.push([
        `generateText (${attempt})`,
        cacheColumn(info),
        ms(elapsed),
        '',
        info?.hit ? String(tokensOf(result.usage)) : '0',
      ]);
    }
    for (const attempt of ['1st', '2nd']) {
      const started = performance.now();
      const result = streamText({ model, prompt: `${prompt} Answer as a stream.`, temperature: 0 });
      let firstToken: number | undefined;
      for await (const _delta of result.textStream) firstToken ??= performance.now() - started;
      const elapsed = performance.now() - started;
      await cache.flush();
      const info = (await result.providerMetadata)?.llmemo as CacheInfo | undefined;
      rows.push([
        `streamText (${attempt})`,
        cacheColumn(info),
        ms(elapsed),
        firstToken === undefined ? '' : ms(firstToken),
        info?.hit ? String(tokensOf(await result.usage)) : '0',
      ]);
    }
    printTable(['call', 'cache', 'latency', 'first token', 'tokens saved'], rows);
    const stats = cache.stats();
    console.log(
      `\n  ${stats.hits} hits, ${stats.misses} misses; ${stats.tokensSaved.input + stats.tokensSaved.output} tokens not spent again.` +
        (server ? ` The provider was called ${server.count()} times for 4 calls.` : ''),
    );
    await cache.close();
  } finally {
    await server?.close();
  }
}
