// Stream coalescing edge cases through the real provider: identical concurrent streamText calls share one HTTP
// stream; when it breaks, every caller gets the failure and nothing is stored; a caller that gives up (a follower
// or the first caller) does not cut the others off.

import { storeUrl, uniqueNamespace } from '@llmemo/test-support';
import { streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { echo, gate, RESPONSES, until, useHarness } from './helpers.js';

const { server, harness } = useHarness();

function setup() {
  const made = harness({ store: storeUrl('redis'), namespace: uniqueNamespace('flight'), timeoutMs: 2000 });
  return made;
}

/** The failures a streamText call reported: error parts in its full stream, or the error it threw. */
async function failures(result: ReturnType<typeof streamText>): Promise<unknown[]> {
  const errors: unknown[] = [];
  try {
    for await (const part of result.fullStream) if (part.type === 'error') errors.push(part.error);
  } catch (error) {
    errors.push(error);
  }
  return errors;
}

const PROMPT = 'one two three four five six seven eight';

describe('streamText coalescing through @ai-sdk/openai', () => {
  it("the leader's stream breaking reaches every caller, nothing is stored, the next call asks again", async () => {
    const { cache, model } = setup();
    const held = gate(server);
    server.cutNextStream({ afterChunks: 6 });
    const calls = Array.from({ length: 5 }, () => streamText({ model, prompt: PROMPT, maxRetries: 0 }));
    await until(() => cache.stats().misses === 5, 'all 5 callers missed');
    held.open();
    const results = await Promise.all(calls.map(failures));
    expect(server.count(RESPONSES)).toBe(1);
    for (const errors of results) {
      expect(errors).toHaveLength(1);
      // The same failure object reaches every caller.
      expect(errors[0]).toBe(results[0]![0]);
    }
    expect((results[0]![0] as Error).message).toMatch(/Failed to process successful response/);
    await cache.flush();
    expect(cache.stats().writes).toBe(0);

    expect(await streamText({ model, prompt: PROMPT }).text).toBe(echo(PROMPT));
    expect(server.count(RESPONSES)).toBe(2);
  });

  it('a follower that aborts does not stop the leader or the other followers; the answer is stored', async () => {
    const { cache, model } = setup();
    server.setLatency({ perTokenMs: 5 });
    const quitter = new AbortController();
    const leader = streamText({ model, prompt: PROMPT });
    const follower = streamText({ model, prompt: PROMPT });
    const leaving = streamText({ model, prompt: PROMPT, abortSignal: quitter.signal });
    const seen: string[] = [];
    for await (const delta of leaving.textStream) {
      seen.push(delta);
      quitter.abort();
    }
    expect(seen.join('')).not.toBe(echo(PROMPT));
    expect(await leader.text).toBe(echo(PROMPT));
    expect(await follower.text).toBe(echo(PROMPT));
    expect(server.count(RESPONSES)).toBe(1);
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
    expect((await streamText({ model, prompt: PROMPT }).providerMetadata)?.llmemo).toMatchObject({ hit: true });
    expect(server.count(RESPONSES)).toBe(1);
  });

  it('the first caller aborting does not cut the followers off', async () => {
    const { cache, model } = setup();
    server.setLatency({ perTokenMs: 5 });
    const first = new AbortController();
    const leader = streamText({ model, prompt: PROMPT, abortSignal: first.signal });
    const followers = [1, 2].map(() => streamText({ model, prompt: PROMPT }));
    for await (const _delta of leader.textStream) first.abort();
    const texts = await Promise.all(followers.map((follower) => follower.text));
    expect(texts).toEqual([echo(PROMPT), echo(PROMPT)]);
    expect(server.count(RESPONSES)).toBe(1);
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
  });

  it('when every caller aborts, nothing is stored and the next call asks the provider again', async () => {
    const { cache, model } = setup();
    server.setLatency({ perTokenMs: 20 });
    const controller = new AbortController();
    const calls = [1, 2, 3].map(() => streamText({ model, prompt: PROMPT, abortSignal: controller.signal }));
    for await (const _delta of calls[0]!.textStream) controller.abort();
    await Promise.all(calls.map((call) => call.consumeStream()));
    await cache.flush();
    expect(cache.stats().writes).toBe(0);
    expect(server.count(RESPONSES)).toBe(1);
    expect(await streamText({ model, prompt: PROMPT }).text).toBe(echo(PROMPT));
    expect(server.count(RESPONSES)).toBe(2);
  });
});
