import { createCache } from '@llmemo/core';
import { redisUrl } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { type Answer, type Ask, ask, bearer, secretKey, useEchoUpstream } from './attack.js';
import { type ProxyProcess, startProcess } from './process.js';

const upstream = useEchoUpstream();
const ADMIN = 'admin-token-0123456789abcdef';

interface Counters {
  hits: number;
  staleHits: number;
  misses: number;
  bypasses: number;
}

async function counters(proxy: ProxyProcess): Promise<Counters> {
  const response = await fetch(`${proxy.origin}/admin/stats`, { headers: bearer(ADMIN) });
  return ((await response.json()) as { cache: Counters }).cache;
}

/** Which counter a response's X-Cache must move: stale hits count among hits, so fresh hits are hits − stale. */
function moved(before: Counters, after: Counters) {
  return {
    HIT: after.hits - after.staleHits - (before.hits - before.staleHits),
    STALE: after.staleHits - before.staleHits,
    MISS: after.misses - before.misses,
    BYPASS: after.bypasses - before.bypasses,
  };
}

describe('issue 13: one request, one counter', () => {
  it('every response moves exactly one of hit, stale, miss, bypass (in stats and in the persisted counters)', async () => {
    const store = redisUrl();
    const proxy = await startProcess(['--upstream', upstream.server.url, '--store', store], {
      LLMEMO_ADMIN_TOKEN: ADMIN,
    });
    const key = secretKey('counters');
    const seen: Record<string, number> = { HIT: 0, STALE: 0, MISS: 0, BYPASS: 0 };
    let namespace: string | undefined;

    /** Sends one request and checks the counters moved by exactly the one its X-Cache names. */
    const once = async (request: Ask, stream = false): Promise<Answer> => {
      const before = await counters(proxy);
      let answer: Answer;
      if (stream) {
        const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: request.prompt }], stream: true };
        const response = await fetch(`${proxy.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...request.headers },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        answer = {
          status: response.status,
          cache: response.headers.get('x-cache'),
          namespace: response.headers.get('x-llmemo-namespace'),
          bypass: response.headers.get('x-llmemo-bypass'),
          text,
          headers: response.headers,
        };
      } else {
        answer = await ask(proxy, request);
      }
      const after = await counters(proxy);
      const expected = { HIT: 0, STALE: 0, MISS: 0, BYPASS: 0, [answer.cache!]: 1 };
      expect([request.prompt, stream, answer.cache, moved(before, after)]).toEqual([
        request.prompt,
        stream,
        answer.cache,
        expected,
      ]);
      seen[answer.cache!]! += 1;
      if (answer.namespace && answer.cache !== 'BYPASS') namespace = answer.namespace;
      return answer;
    };
    /** Repeats until the answer is `cache` (the write lands off the critical path); each try is checked. */
    const until = async (cache: string, request: Ask, stream = false) => {
      for (let i = 0; i < 100; i++) {
        if ((await once(request, stream)).cache === cache) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`never ${cache}`);
    };
    const auth = bearer(key);

    await until('HIT', { headers: auth, prompt: 'plain' });
    await until('HIT', { headers: auth, prompt: 'plain' }, true);
    await until('HIT', { headers: auth, prompt: 'streamed first' }, true);
    await until('HIT', { headers: auth, prompt: 'streamed first' });
    await once({ headers: { ...auth, 'cache-control': 'no-cache' }, prompt: 'plain' });

    // An upstream that ignores include_usage: its stream cannot answer a plain request, which is then one miss.
    upstream.server.script({ text: 'no usage here', streamUsage: false });
    await until('HIT', { headers: auth, prompt: 'no usage' }, true);
    expect((await once({ headers: auth, prompt: 'no usage' })).cache).toBe('MISS');
    await until('HIT', { headers: auth, prompt: 'no usage' });

    // Bypasses: no credential, mode off, no-cache + no-store, a body that cannot be keyed faithfully.
    expect((await once({ prompt: 'anonymous' })).cache).toBe('BYPASS');
    expect((await once({ headers: { ...auth, 'x-llmemo-mode': 'off' }, prompt: 'off' })).cache).toBe('BYPASS');
    const noStore = { ...auth, 'cache-control': 'no-cache, no-store' };
    expect((await once({ headers: noStore, prompt: 'plain' })).cache).toBe('BYPASS');
    const duplicate = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"d"}],"n":1,"n":2}';
    expect((await once({ headers: auth, body: duplicate, prompt: 'duplicate' })).cache).toBe('BYPASS');

    // Stale: an entry past its max-age, served while the upstream fails, plain and streamed.
    const short = { ...auth, 'cache-control': 'max-age=1, stale-if-error=600' };
    for (const stream of [false, true]) {
      const prompt = `stale ${stream}`;
      await until('HIT', { headers: short, prompt }, stream);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      upstream.server.failNext(1, { status: 503 });
      expect((await once({ headers: short, prompt }, stream)).cache).toBe('STALE');
    }
    for (const cache of ['HIT', 'STALE', 'MISS', 'BYPASS']) expect(seen[cache]).toBeGreaterThan(0);

    // The counters kept in the store agree: hits are HIT + STALE, misses are MISS (SIGTERM flushes them).
    expect(await proxy.stop()).toBe(0);
    const reader = createCache({ store, persistStats: false });
    try {
      const { totals } = await reader.storedStats({ namespace: namespace! });
      expect({ hits: totals.hits, misses: totals.misses }).toEqual({
        hits: seen.HIT! + seen.STALE!,
        misses: seen.MISS!,
      });
    } finally {
      await reader.close();
    }
  });
});
