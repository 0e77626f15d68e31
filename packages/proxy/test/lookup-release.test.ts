// Every path that takes a cache miss ends it, so a store swap (the reload's useStore) never waits its drain timeout
// (30 s by default) for a lookup nobody will commit. Each test makes the request, then swaps the proxy's store with
// the default drain timeout: the swap must be prompt (the test timeout is far below 30 s, so a held miss fails it).

import { storeUrl } from '@llmemo/test-support';
import { type AnthropicTestServer, createAnthropicTestServer } from '@llmemo/test-support/anthropic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../src/index.js';
import { ADMIN_TOKEN, apiKey, originOf, post, useHarness, user } from './helpers.js';

const h = useHarness();
const anthropic: { server?: AnthropicTestServer } = {};
beforeAll(async () => {
  anthropic.server = await createAnthropicTestServer();
});
afterAll(async () => {
  await anthropic.server?.close();
});
const FAST = { timeout: 8000 };
const CHAT = '/v1/chat/completions';
const EMBEDDINGS = '/v1/embeddings';

/** Swaps the proxy's store with the default drain timeout; it must not wait for a held lookup. */
async function expectPromptSwap(running: RunningProxy): Promise<void> {
  const started = performance.now();
  await running.proxy.cache.useStore('memory://');
  expect(performance.now() - started).toBeLessThan(2000);
}

/** Waits until no upstream stream is in flight (a cancelled one ends a little after the client left). */
async function noStreamsInFlight(running: RunningProxy): Promise<void> {
  for (;;) {
    const stats = (await fetch(`${originOf(running)}/admin/stats`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    }).then((r) => r.json())) as { inFlightStreams: number };
    if (stats.inFlightStreams === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(['sqlite', 'redis'] as const)('the proxy ends its misses on %s', (kind) => {
  const start = () => {
    anthropic.server!.reset();
    return h.proxy({ cache: { store: storeUrl(kind) }, anthropicUpstream: anthropic.server!.origin });
  };
  const stream = (content: string) => ({ model: 'gpt-4o-mini', messages: user(content), stream: true });

  describe('embeddings', () => {
    const embed = (input: unknown) => ({ model: 'text-embedding-3-small', input });

    it('a batch with an input repeated (its second lookup shares the first one’s slot)', FAST, async () => {
      const running = await start();
      const response = await post(running, EMBEDDINGS, embed(['a', 'b', 'a']), { key: apiKey() });
      expect(response.status).toBe(200);
      await response.json();
      await expectPromptSwap(running);
    });

    it('an upstream that fails', FAST, async () => {
      const running = await start();
      h.server.failNext(1, { status: 500, match: EMBEDDINGS });
      const response = await post(running, EMBEDDINGS, embed(['x', 'y']), { key: apiKey() });
      expect(response.status).toBe(500);
      await response.text();
      await expectPromptSwap(running);
    });

    it('a client that goes away while the upstream answers', FAST, async () => {
      const running = await start();
      h.server.setLatency({ responseMs: 150 });
      const controller = new AbortController();
      const request = fetch(`${running.url}/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey()}` },
        body: JSON.stringify(embed(['gone'])),
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 30);
      await expect(request).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 300));
      h.server.setLatency({});
      await expectPromptSwap(running);
    });
  });

  describe('chat completions streams', () => {
    it('a complete stream (committed)', FAST, async () => {
      const running = await start();
      await (await post(running, CHAT, stream('whole'), { key: apiKey() })).text();
      await running.proxy.flush();
      await expectPromptSwap(running);
    });

    it('an upstream that fails before streaming', FAST, async () => {
      const running = await start();
      h.server.failNext(1, { status: 500 });
      const response = await post(running, CHAT, stream('fails'), { key: apiKey() });
      expect(response.status).toBe(500);
      await response.text();
      await expectPromptSwap(running);
    });

    it('a stream the upstream cut', FAST, async () => {
      const running = await start();
      h.server.script({ chunks: ['one', 'two', 'three', 'four'] });
      h.server.cutNextStream({ afterChunks: 2 });
      await (await post(running, CHAT, stream('cut'), { key: apiKey() })).text().catch(() => '');
      await noStreamsInFlight(running);
      await expectPromptSwap(running);
    });

    it('a stream that must not be stored (a choice finished with an error)', FAST, async () => {
      const running = await start();
      h.server.script({ text: 'partial', finishReason: 'error' });
      await (await post(running, CHAT, stream('unstorable'), { key: apiKey() })).text();
      await noStreamsInFlight(running);
      await expectPromptSwap(running);
    });

    it('a client that disconnects mid-stream', FAST, async () => {
      const running = await start();
      h.server.script({ chunks: ['first', 'never'] });
      h.server.setLatency({ perTokenMs: 60_000 });
      const reader = (await post(running, CHAT, stream('leaving'), { key: apiKey() })).body!.getReader();
      await reader.read();
      await reader.cancel();
      await noStreamsInFlight(running);
      h.server.setLatency({});
      await expectPromptSwap(running);
    });

    it('identical streams at once: the followers of the shared upstream stream', FAST, async () => {
      const running = await start();
      const key = apiKey();
      h.server.setLatency({ firstTokenMs: 50, perTokenMs: 5 });
      const bodies = await Promise.all(
        [1, 2, 3].map(async () => (await post(running, CHAT, stream('together'), { key })).text()),
      );
      h.server.setLatency({});
      expect(new Set(bodies).size).toBe(1);
      expect(h.server.count(CHAT)).toBe(1);
      await running.proxy.flush();
      await expectPromptSwap(running);
    });
  });

  describe('messages streams', () => {
    const ask = (content: string) => ({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content }],
      stream: true,
    });
    const send = (running: RunningProxy, content: string, key: string) =>
      fetch(`${originOf(running)}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(ask(content)),
      });

    it('a complete stream, and identical ones at once', FAST, async () => {
      const running = await start();
      const key = apiKey('sk-ant');
      await Promise.all([1, 2, 3].map(async () => (await send(running, 'together', key)).text()));
      await running.proxy.flush();
      await expectPromptSwap(running);
    });

    it('an upstream that fails before streaming', FAST, async () => {
      const running = await start();
      anthropic.server!.failNext(1, { status: 500 });
      const response = await send(running, 'fails', apiKey('sk-ant'));
      expect(response.status).toBe(500);
      await response.text();
      await expectPromptSwap(running);
    });

    it('a stream the upstream cut', FAST, async () => {
      const running = await start();
      anthropic.server!.cutNextStream({ afterChunks: 2 });
      await (await send(running, 'cut off here', apiKey('sk-ant'))).text().catch(() => '');
      await noStreamsInFlight(running);
      await expectPromptSwap(running);
    });
  });
});
