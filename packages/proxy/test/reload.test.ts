// Reloading the configuration without a restart: `proxy.reconfigure()` in process, and SIGHUP on the built
// `llmemo-proxy` binary with a --config file, a long stream in flight across the reload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCache, isLlmemoError } from '@llmemo/core';
import { redisUrl, tempDir } from '@llmemo/test-support';
import { createAnthropicTestServer } from '@llmemo/test-support/anthropic';
import { describe, expect, it } from 'vitest';
import { apiKey, post, useHarness, user } from './helpers.js';
import { eventually, startProcess } from './process.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';

/** The digests stored in a namespace of a store, read by a fresh cache on it. */
async function digestsIn(store: string, namespace: string): Promise<string[]> {
  const cache = createCache({ store, timeoutMs: 5000, persistStats: false, pruneInterval: false });
  const digests: string[] = [];
  for await (const entry of cache.entries({ namespace })) digests.push(entry.key.slice(entry.key.lastIndexOf(':') + 1));
  await cache.close();
  return digests;
}

describe('proxy.reconfigure', () => {
  it('applies endpoints and ttls from the next request on; an invalid configuration changes nothing', async () => {
    const running = await h.proxy({ cache: { store: 'memory://' } });
    const key = apiKey();
    const body = { model: 'gpt-4o-mini', messages: user('reconfigured') };
    await post(running, CHAT, body, { key });
    await running.proxy.flush();
    const result = await running.proxy.reconfigure({
      upstream: h.server.url,
      cache: { store: 'memory://', ttl: '1h' },
      endpoints: { chat: false },
    });
    expect(result.changed).toEqual(
      expect.arrayContaining([
        'endpoints.chat: cached → off',
        expect.stringMatching(/^endpoints\.embeddings: .*3600000/),
      ]),
    );
    const off = await post(running, CHAT, body, { key });
    expect(off.headers.get('x-llmemo-bypass')).toBe('endpoint-off');

    for (const bad of [
      { upstream: h.server.url, cache: { store: 'memory://', ttl: 'a while' } },
      { upstream: 'ftp://nowhere' },
      { upstream: h.server.url, cache: { store: 'ftp://nowhere' } },
      { upstream: h.server.url, endpoints: { chat: { ttl: -1 } } },
    ]) {
      let thrown: unknown;
      try {
        await running.proxy.reconfigure(bad);
      } catch (error) {
        thrown = error;
      }
      expect(isLlmemoError(thrown, 'INVALID_OPTIONS'), JSON.stringify(bad)).toBe(true);
      // Still the last good configuration: chat off.
      expect((await post(running, CHAT, body, { key })).headers.get('x-llmemo-bypass')).toBe('endpoint-off');
    }
  });

  it('a swapped-in store brings its namespace secret: the proxy agrees with the others on it, tenants stay apart', async () => {
    const onRedis = await h.proxy({ cache: { store: redisUrl(), timeoutMs: 5000 } });
    const moving = await h.proxy({ cache: { store: `sqlite://${join(tempDir(), 'before.sqlite')}`, timeoutMs: 5000 } });
    const key = apiKey('tenant');
    const body = { model: 'gpt-4o-mini', messages: user('shared across proxies') };
    const first = await post(onRedis, CHAT, body, { key });
    expect(first.headers.get('x-cache')).toBe('MISS');
    await onRedis.proxy.flush();
    // The key is served (its namespace derived and remembered) under the SQLite store's secret first.
    const before = await post(moving, CHAT, body, { key });
    expect(before.headers.get('x-cache')).toBe('MISS');
    const { changed } = await moving.proxy.reconfigure({
      upstream: h.server.url,
      cache: { store: redisUrl(), timeoutMs: 5000 },
    });
    expect(changed[0]).toMatch(/^store: sqlite:\/\/.*before\.sqlite → redis:\/\//);
    const same = await post(moving, CHAT, body, { key });
    expect(same.headers.get('x-cache')).toBe('HIT');
    // Under the new store's secret: the namespace the other proxy derived, not the one remembered from before.
    expect(same.headers.get('x-llmemo-namespace')).toBe(first.headers.get('x-llmemo-namespace'));
    expect(same.headers.get('x-llmemo-namespace')).not.toBe(before.headers.get('x-llmemo-namespace'));
    const other = await post(moving, CHAT, body, { key: apiKey('intruder') });
    expect(other.headers.get('x-cache')).toBe('MISS');
    expect(h.server.count(CHAT)).toBe(3);
  });
});

describe('llmemo-proxy SIGHUP (built binary)', () => {
  it('reloads --config without dropping a stream in flight; the next request uses the new store', async () => {
    const dir = tempDir();
    const config = join(dir, 'proxy.json');
    const sqlite = `sqlite://${join(dir, 'cache.sqlite')}`;
    writeFileSync(config, JSON.stringify({ store: sqlite, cache: 'chat', chatTtl: '1h', storeTimeout: 5000 }));
    const proxy = await startProcess(['--upstream', h.server.url, '--config', config], {}, [], { built: true });
    const key = apiKey('reload');
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    // A long stream: 30 words, 100 ms apart.
    const words = Array.from({ length: 30 }, (_, i) => `word${i} `);
    h.server.script({ chunks: words });
    h.server.setLatency({ perTokenMs: 100 });
    const stream = await fetch(`${proxy.url}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('a long story'), stream: true }),
    });
    expect(stream.headers.get('x-cache')).toBe('MISS');
    const reader = stream.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);

    writeFileSync(
      config,
      JSON.stringify({ store: redisUrl(), cache: 'chat,embeddings', chatTtl: '2h', storeTimeout: 5000 }),
    );
    proxy.child.kill('SIGHUP');
    await eventually(
      () => proxy.logs().some((line) => String(line.msg).includes('configuration reloaded')),
      'the reload',
    );
    const reloaded = proxy.logs().find((line) => String(line.msg).includes('configuration reloaded'))!;
    expect(reloaded.changed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^store: sqlite:\/\/.* → redis:\/\//),
        'endpoints.embeddings: off → cached',
        'endpoints.chat: {"ttl":3600000} → {"ttl":7200000}',
      ]),
    );

    // The stream in flight runs to its end on the old connection and the old store.
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('data: [DONE]');
    for (const word of words) expect(text).toContain(word.trim());
    h.server.setLatency({});

    const after = await fetch(`${proxy.url}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('after the reload') }),
    });
    expect(after.headers.get('x-cache')).toBe('MISS');
    await after.text();
    const again = await fetch(`${proxy.url}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('after the reload') }),
    });
    expect(again.headers.get('x-cache')).toBe('HIT');
    await again.text();

    // Each answer is in the store its request began on, under that store's namespace for the key.
    const streamDigest = stream.headers.get('x-llmemo-key')!;
    const afterDigest = after.headers.get('x-llmemo-key')!;
    await eventually(
      () => proxy.logs().some((line) => String(line.msg).includes('store was flushed and closed')),
      'the old store closed',
    );
    expect(await digestsIn(sqlite, stream.headers.get('x-llmemo-namespace')!)).toEqual([streamDigest]);
    const onRedis = await digestsIn(redisUrl(), after.headers.get('x-llmemo-namespace')!);
    expect(onRedis).toContain(afterDigest);
    expect(onRedis).not.toContain(streamDigest);

    // An invalid configuration is logged and the running one kept.
    for (const bad of ['{"store": "ftp://nowhere"}', '{"store": ', '{"chatTtl": "soon"}', '{"nope": 1}']) {
      writeFileSync(config, bad);
      const before = proxy.logs().length;
      proxy.child.kill('SIGHUP');
      await eventually(
        () =>
          proxy
            .logs()
            .slice(before)
            .some((line) => String(line.msg).includes('kept the running one')),
        bad,
      );
    }
    const still = await fetch(`${proxy.url}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('after the reload') }),
    });
    expect(still.headers.get('x-cache')).toBe('HIT');
    expect(proxy.child.exitCode).toBeNull();
  });

  it('a new Anthropic upstream takes /v1/messages from the next request on; chat stays where it was', async () => {
    const claude = await createAnthropicTestServer();
    try {
      const running = await h.proxy({ cache: { store: 'memory://' } });
      const message = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: user('to which upstream?') };
      const headers = { 'x-api-key': apiKey('sk-ant'), 'anthropic-version': '2023-06-01' };
      const before = await post(running, '/v1/messages', message, { headers });
      expect(claude.count('/v1/messages')).toBe(0);
      expect(before.headers.get('x-cache')).not.toBe('HIT');
      const { changed } = await running.proxy.reconfigure({ upstream: h.server.url, anthropicUpstream: claude.origin });
      expect(changed).toEqual(expect.arrayContaining([expect.stringMatching(/^anthropicUpstream: /)]));
      const after = await post(
        running,
        '/v1/messages',
        { ...message, messages: user('after the reload') },
        { headers },
      );
      expect(after.status).toBe(200);
      expect(claude.count('/v1/messages')).toBe(1);
      // Still cached after the reload (each endpoint's settings carried over, /v1/messages included).
      await running.proxy.flush();
      const again = await post(
        running,
        '/v1/messages',
        { ...message, messages: user('after the reload') },
        { headers },
      );
      expect(again.headers.get('x-cache')).toBe('HIT');
      expect(claude.count('/v1/messages')).toBe(1);
      const chats = h.server.count(CHAT);
      await post(running, CHAT, { model: 'gpt-4o-mini', messages: user('chat after the reload') }, { key: apiKey() });
      expect(h.server.count(CHAT)).toBe(chats + 1);
    } finally {
      await claude.close();
    }
  });
});
