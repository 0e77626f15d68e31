// Two behaviours of @llmemo/core that the resilience work ran into (both were bugs, now fixed): a connection cut
// mid-stream counts as transient for stale-if-error, and close() does not wait on a hung background refresh.
import { createOpenAI } from '@ai-sdk/openai';
import { createCache, isTransientError, type ResponseCache } from '@llmemo/core';
import { createOpenAITestServer } from '@llmemo/test-support/openai';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from './helpers.js';

const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

describe('core', () => {
  it('isTransientError: a connection cut while a stream is read is transient', async () => {
    const server = await createOpenAITestServer();
    try {
      server.cutNextStream({ afterChunks: 0 });
      const model = createOpenAI({ baseURL: server.url, apiKey: 'test' })('gpt-4o-mini');
      let failure: unknown;
      try {
        const { stream } = await model.doStream({
          prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
        });
        const reader = stream.getReader();
        while (!(await reader.read()).done) {}
      } catch (error) {
        failure = error;
      }
      // @ai-sdk/openai: APICallError 'Failed to process successful response', statusCode 200, isRetryable true,
      // cause TypeError('terminated') whose cause has code UND_ERR_SOCKET: a 2xx status must not end the judgement.
      expect(failure).toMatchObject({ statusCode: 200, isRetryable: true });
      expect(isTransientError(failure)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('close() finishes while a stale-while-revalidate refresh hangs', async () => {
    const cache = createCache({ ttl: 20, staleWhileRevalidate: '1m', persistStats: false });
    caches.push(cache);
    const request = { kind: 'chat', provider: 'p', model: 'm', input: 'q' };
    await cache.getOrCompute(request, async () => 'v1');
    await cache.flush();
    await sleep(40);
    // The provider hangs on the background refresh (a stale hit is served at once).
    const stale = await cache.getOrCompute(request, () => new Promise<string>(() => {}));
    expect(stale).toMatchObject({ hit: true, stale: true });
    // close() gives background refreshes a short grace, then closes: a hung provider cannot keep it open.
    const closed = await Promise.race([cache.close().then(() => 'closed'), sleep(1000).then(() => 'still closing')]);
    expect(closed).toBe('closed');
  });
});
