// Kill and restart a real redis-server while 200 concurrent generateText and streamText calls run through the
// cache: no call fails, every answer is the one the server gives for its prompt, and once Redis is back the cache
// stores and hits again (the server's request count proves the hit).

import type { ResponseCache } from '@llmemo/core';
import { type RedisServer, startRedisServer, uniqueNamespace } from '@llmemo/test-support';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import { generateText, type LanguageModel, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, gate, harness, RESPONSES, sleep, until } from './helpers.js';

const CALLS = 200;
const PROMPTS = 40;

let redis: RedisServer;
let server: OpenAITestServer;
const caches: ResponseCache[] = [];

beforeAll(async () => {
  [redis, server] = await Promise.all([startRedisServer(), createOpenAITestServer()]);
});
afterAll(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await Promise.all([redis?.stop(), server?.close()]);
});

/** One call: generateText for even i, streamText for odd i, on one of PROMPTS prompts. */
async function call(model: LanguageModel, i: number): Promise<{ prompt: string; text: string }> {
  const prompt = `restart question ${i % PROMPTS}`;
  if (i % 2 === 0) return { prompt, text: (await generateText({ model, prompt, maxRetries: 0 })).text };
  const result = streamText({ model, prompt, maxRetries: 0 });
  for await (const part of result.fullStream) if (part.type === 'error') throw part.error;
  return { prompt, text: await result.text };
}

describe('redis-server killed and restarted under load', () => {
  it(`${CALLS} concurrent calls all succeed with the right answers, and the cache hits again after the restart`, async () => {
    const { cache, model, errors } = harness(server, {
      store: redis.url,
      namespace: uniqueNamespace('restart'),
      timeoutMs: 200,
      breaker: { threshold: 5, cooldown: 100 },
    });
    caches.push(cache);
    // Warm half the prompts, so the load mixes hits and misses.
    await Promise.all(Array.from({ length: PROMPTS / 2 }, (_, i) => call(model, i * 2)));
    await cache.flush();
    expect(errors).toEqual([]);
    // The server holds its answers until Redis has been killed and restarted: the calls that reach the provider
    // are in flight across the outage, and their writes land on the restarted server (or fail open).
    const held = gate(server);
    let finished = 0;
    const calls: Promise<{ prompt: string; text: string }>[] = [];
    const launch = (from: number, to: number) => {
      for (let i = from; i < to; i++) calls.push(call(model, i).finally(() => finished++));
    };
    launch(0, 100);
    await until(() => server.count(RESPONSES) > 0, 'the first calls reached the provider');
    await redis.kill();
    const inFlightAtKill = calls.length - finished;
    // Calls made while Redis is down: their reads fail fast (no offline queue) and they go to the provider.
    launch(100, 150);
    await until(() => errors.length > 0, 'the cache reported the dead store');
    await redis.restart();
    launch(150, CALLS);
    held.open();

    const settled = await Promise.allSettled(calls);
    const failed = settled.filter((result) => result.status === 'rejected');
    expect(failed.map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
    for (const result of settled) {
      const { prompt, text } = (result as PromiseFulfilledResult<{ prompt: string; text: string }>).value;
      expect(text).toBe(echo(prompt));
    }
    expect(
      errors.every((event) => event.error.code === 'STORE_UNAVAILABLE' || event.error.code === 'STORE_TIMEOUT'),
    ).toBe(true);

    // Recovery: the restarted server is empty. Once the client has reconnected (and the breaker let a probe
    // through), a call is stored and its repeat is a hit that makes no request.
    server.reset();
    let round = 0;
    for (;;) {
      const prompt = `after the restart ${round++}`;
      expect((await generateText({ model, prompt })).text).toBe(echo(prompt));
      await cache.flush();
      const requests = server.count(RESPONSES);
      const again = await generateText({ model, prompt });
      if ((again.providerMetadata?.llmemo as { hit?: boolean } | undefined)?.hit) {
        expect(again.text).toBe(echo(prompt));
        expect(server.count(RESPONSES)).toBe(requests);
        break;
      }
      if (round > 100) throw new Error('The cache did not hit again within 100 rounds after the restart.');
      await sleep(50);
    }
    console.info(
      `[redis restart] ${CALLS} calls, ${inFlightAtKill} in flight at the kill, 0 failed; ${errors.length} store errors, breaker opened ${cache.stats().breaker?.opens} times; first hit after the restart in round ${round}`,
    );
    // And a streamed answer: stored, then replayed without a request.
    const prompt = 'after the restart, streamed';
    expect(await streamText({ model, prompt }).text).toBe(echo(prompt));
    await cache.flush();
    const requests = server.count(RESPONSES);
    const replay = streamText({ model, prompt });
    expect(await replay.text).toBe(echo(prompt));
    expect((await replay.providerMetadata)?.llmemo).toMatchObject({ hit: true });
    expect(server.count(RESPONSES)).toBe(requests);
  });
});
