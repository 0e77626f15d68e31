// "Is this cached?" without an upstream call: Cache-Control: only-if-cached (and x-llmemo-mode: replay) answer from
// the caller's own namespace or 504, and never reach the upstream, whatever else the request says. Attacked here for
// tenant isolation and for every way a request could slip through to the upstream.
import { describe, expect, it } from 'vitest';
import { apiKey, post, useHarness, user } from './helpers.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';
const ONLY = { 'cache-control': 'only-if-cached' };

describe('only-if-cached', () => {
  async function cachedBy(key: string, content: string) {
    const proxy = await h.proxy();
    const body = { model: 'gpt-4o-mini', messages: user(content) };
    const filled = await post(proxy, CHAT, body, { key });
    expect(filled.headers.get('x-cache')).toBe('MISS');
    await proxy.proxy.flush();
    return { proxy, body };
  }

  it("answers a cached request from the caller's namespace, without an upstream call", async () => {
    const key = apiKey();
    const { proxy, body } = await cachedBy(key, 'cached once');
    const upstream = h.server.count(CHAT);
    for (const headers of [ONLY, { 'x-llmemo-mode': 'replay' }]) {
      const answer = await post(proxy, CHAT, body, { key, headers });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-cache')).toBe('HIT');
      expect(((await answer.json()) as { object: string }).object).toBe('chat.completion');
    }
    const missing = await post(proxy, CHAT, { ...body, messages: user('never sent') }, { key, headers: ONLY });
    expect(missing.status).toBe(504);
    expect(missing.headers.get('x-cache')).toBe('MISS');
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('cache_miss');
    const streamed = await post(
      proxy,
      CHAT,
      { ...body, messages: user('never'), stream: true },
      { key, headers: ONLY },
    );
    expect(streamed.status).toBe(504);
    expect(h.server.count(CHAT)).toBe(upstream);
  });

  it("cannot tell another tenant's entries: other keys, a namespace header, no key at all", async () => {
    const owner = apiKey('owner');
    const { proxy, body } = await cachedBy(owner, 'tenant secret question');
    const ownerNamespace = (await post(proxy, CHAT, body, { key: owner, headers: ONLY })).headers.get(
      'x-llmemo-namespace',
    );
    expect(ownerNamespace).toBeTruthy();
    const upstream = h.server.count(CHAT);
    const attempts = [
      { key: apiKey('other') },
      { key: apiKey('other'), headers: { 'x-llmemo-namespace': ownerNamespace! } },
      { key: owner.toUpperCase() },
      {},
    ];
    for (const attempt of attempts) {
      const answer = await post(proxy, CHAT, body, { ...attempt, headers: { ...ONLY, ...attempt.headers } });
      expect(answer.status, JSON.stringify(attempt)).toBe(504);
      expect(answer.headers.get('x-cache')).not.toBe('HIT');
    }
    // Nothing of it reached the upstream: no request cost a call, even the ones the cache could not take.
    expect(h.server.count(CHAT)).toBe(upstream);
  });

  it('never goes upstream, even where the proxy would otherwise bypass the cache', async () => {
    const key = apiKey();
    const proxy = await h.proxy({ endpoints: { embeddings: false } });
    const answers = [
      // only-if-cached wins over a mode that would fetch.
      await post(
        proxy,
        CHAT,
        { model: 'gpt-4o-mini', messages: user('refresh?') },
        {
          key,
          headers: { ...ONLY, 'x-llmemo-mode': 'refresh' },
        },
      ),
      await post(
        proxy,
        CHAT,
        { model: 'gpt-4o-mini', messages: user('off?') },
        {
          key,
          headers: { ...ONLY, 'cache-control': 'only-if-cached, no-cache, no-store' },
        },
      ),
      // An endpoint that does not cache, a body the proxy cannot key, a path it never caches.
      await post(proxy, '/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }, { key, headers: ONLY }),
      await post(proxy, CHAT, '{"model": "gpt-4o-mini", "messages": "not a list"}', { key, headers: ONLY }),
      await post(proxy, '/v1/responses', { model: 'gpt-4o-mini', input: 'x' }, { key, headers: ONLY }),
      await post(
        proxy,
        '/v1/responses',
        { model: 'gpt-4o-mini', input: 'x' },
        {
          key,
          headers: { 'x-llmemo-mode': 'replay' },
        },
      ),
    ];
    for (const answer of answers) expect(answer.status).toBe(504);
    expect(answers.slice(2).map((answer) => answer.headers.get('x-llmemo-bypass'))).toEqual([
      'endpoint-off',
      'unkeyable',
      'not-cached-endpoint',
      'not-cached-endpoint',
    ]);
    expect(h.server.requests).toEqual([]);
  });
});
