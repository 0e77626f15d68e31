import { createCache } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, apiKey, originOf, post, ssePayloads, streamText, until, useHarness, user } from './helpers.js';

const h = useHarness();
const CHAT = '/v1/chat/completions';
const MODEL = 'gpt-4o-mini';

describe('chat completions through the openai client', () => {
  it('answers a repeated request from the cache, with the same body', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    const first = await client.chat.completions.create({ model: MODEL, messages: user('hello there') }).withResponse();
    expect(first.response.headers.get('x-cache')).toBe('MISS');
    await proxy.proxy.flush();
    const second = await client.chat.completions.create({ model: MODEL, messages: user('hello there') }).withResponse();
    expect(second.response.headers.get('x-cache')).toBe('HIT');
    expect(second.data).toEqual(first.data);
    expect(second.data.choices[0]?.message.content).toBe('Echo: hello there');
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('sends Age and the key digest (never the prompt) on a hit', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    await post(proxy, CHAT, { model: MODEL, messages: user('secret prompt') }, { key });
    await proxy.proxy.flush();
    const hit = await post(proxy, CHAT, { model: MODEL, messages: user('secret prompt') }, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('age')).toMatch(/^\d+$/);
    expect(hit.headers.get('x-llmemo-key')).toMatch(/^[0-9a-f]{64}$/);
    expect(hit.headers.get('x-llmemo-namespace')).toMatch(/^key-[0-9a-f]{32}$/);
    hit.headers.forEach((value) => {
      expect(value).not.toContain('secret');
    });
  });

  it('streams a miss through and replays a hit with the same data: payloads and [DONE]', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    h.server.script({ chunks: ['Hel', 'lo', ' wor', 'ld'], usage: { inputTokens: 3, outputTokens: 4 } });
    const body = { model: MODEL, messages: user('stream'), stream: true, stream_options: { include_usage: true } };
    const miss = await post(proxy, CHAT, body, { key });
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(miss.headers.get('content-type')).toContain('text/event-stream');
    const missText = await miss.text();
    await proxy.proxy.flush();
    const hit = await post(proxy, CHAT, body, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('content-type')).toContain('text/event-stream');
    const hitText = await hit.text();
    expect(ssePayloads(hitText)).toEqual(ssePayloads(missText));
    expect(hitText).toBe(missText);
    expect(ssePayloads(hitText).at(-1)).toBe('[DONE]');
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('the openai client streams a hit: same deltas, usage included', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    h.server.script({ chunks: ['a', 'b', 'c'] });
    const ask = () =>
      client.chat.completions.create({
        model: MODEL,
        messages: user('letters'),
        stream: true,
        stream_options: { include_usage: true },
      });
    const collect = async () => {
      const deltas: string[] = [];
      let usage: unknown;
      for await (const chunk of await ask()) {
        if (chunk.choices[0]?.delta?.content) deltas.push(chunk.choices[0].delta.content);
        if (chunk.usage) usage = chunk.usage;
      }
      return { deltas, usage };
    };
    const first = await collect();
    await proxy.proxy.flush();
    const second = await collect();
    expect(second).toEqual(first);
    expect(second.deltas).toEqual(['a', 'b', 'c']);
    expect(second.usage).toMatchObject({ completion_tokens: expect.any(Number) });
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('keeps reasoning and tool calls on a streamed hit', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    h.server.script({
      reasoning: 'think first',
      toolCalls: [{ name: 'weather', arguments: { city: 'Paris' }, id: 'call_1' }],
    });
    const request = {
      model: MODEL,
      messages: user('weather?'),
      tools: [{ type: 'function' as const, function: { name: 'weather', parameters: { type: 'object' } } }],
    };
    const run = async () => {
      const stream = client.chat.completions.stream({ ...request, stream: true });
      return stream.finalChatCompletion();
    };
    const first = await run();
    await proxy.proxy.flush();
    const second = await run();
    expect(h.server.count(CHAT)).toBe(1);
    const message = second.choices[0]?.message as unknown as Record<string, unknown>;
    expect(second.choices[0]?.message.tool_calls).toEqual(first.choices[0]?.message.tool_calls);
    expect(second.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: 'call_1',
      function: { name: 'weather', arguments: '{"city":"Paris"}' },
    });
    expect(message.reasoning_content).toBe('think first');
    expect(second.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

describe('one entry for streamed and non-streamed requests', () => {
  it('a streamed recording answers a non-streamed request, as the completion it adds up to', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    h.server.script({ chunks: ['The ', 'answer ', 'is 42'], usage: { inputTokens: 5, outputTokens: 3 } });
    const streamed = await client.chat.completions.create({
      model: MODEL,
      messages: user('question'),
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(await streamText(streamed)).toBe('The answer is 42');
    await proxy.proxy.flush();
    const plain = await client.chat.completions.create({ model: MODEL, messages: user('question') }).withResponse();
    expect(plain.response.headers.get('x-cache')).toBe('HIT');
    expect(plain.data.object).toBe('chat.completion');
    expect(plain.data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'The answer is 42' });
    expect(plain.data.choices[0]?.finish_reason).toBe('stop');
    expect(plain.data.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('a non-streamed recording answers a streamed request, with or without usage', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    h.server.script({ text: 'Plain answer', usage: { inputTokens: 2, outputTokens: 2 } });
    const plain = await client.chat.completions.create({ model: MODEL, messages: user('ask') });
    await proxy.proxy.flush();
    const withUsage = await client.chat.completions
      .create({ model: MODEL, messages: user('ask'), stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(withUsage.response.headers.get('x-cache')).toBe('HIT');
    let text = '';
    let usage: unknown;
    for await (const chunk of withUsage.data) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
      expect(chunk.id).toBe(plain.id);
    }
    expect(text).toBe('Plain answer');
    expect(usage).toEqual(plain.usage);
    const withoutUsage = await post(
      proxy,
      CHAT,
      { model: MODEL, messages: user('ask'), stream: true },
      {
        key: (client as unknown as { apiKey: string }).apiKey,
      },
    );
    expect(withoutUsage.headers.get('x-cache')).toBe('HIT');
    const events = ssePayloads(await withoutUsage.text());
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.slice(0, -1).every((event) => !event.includes('"usage"'))).toBe(true);
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('a stream recorded with usage is replayed without the usage chunk to a request that did not ask for it', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const base = { model: MODEL, messages: user('usage variants'), stream: true };
    await (await post(proxy, CHAT, { ...base, stream_options: { include_usage: true } }, { key })).text();
    await proxy.proxy.flush();
    const hit = await post(proxy, CHAT, base, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    const events = ssePayloads(await hit.text());
    expect(events.some((event) => event.includes('"usage"'))).toBe(false);
    expect(events.map((event) => (event === '[DONE]' ? event : JSON.parse(event).choices.length))).not.toContain(0);
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('asks the upstream for usage on every recorded stream, so a plain request after it is a hit', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const base = { model: MODEL, messages: user('usage asked anyway'), stream: true };
    const streamed = await (await post(proxy, CHAT, base, { key })).text();
    expect(streamed).not.toContain('"usage"');
    expect((h.server.requestsTo(CHAT)[0]!.body as Record<string, unknown>).stream_options).toEqual({
      include_usage: true,
    });
    await proxy.proxy.flush();
    const plain = await post(proxy, CHAT, { model: MODEL, messages: user('usage asked anyway') }, { key });
    expect(plain.headers.get('x-cache')).toBe('HIT');
    expect((await plain.json()).usage).toMatchObject({ total_tokens: expect.any(Number) });
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('refetches when the upstream streamed no usage, and the fresh answer replaces the entry', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    h.server.script({ text: 'no usage from this server', streamUsage: false });
    const base = { model: MODEL, messages: user('no usage yet'), stream: true };
    await (await post(proxy, CHAT, base, { key })).text();
    await proxy.proxy.flush();
    // A non-streamed request needs usage, which this entry does not have.
    const plain = await post(proxy, CHAT, { model: MODEL, messages: user('no usage yet') }, { key });
    expect(plain.headers.get('x-cache')).toBe('MISS');
    expect((await plain.json()).usage).toMatchObject({ total_tokens: expect.any(Number) });
    await proxy.proxy.flush();
    expect(h.server.count(CHAT)).toBe(2);
    const again = await post(proxy, CHAT, { ...base, stream_options: { include_usage: true } }, { key });
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(await again.text()).toContain('"usage":{');
    expect(h.server.count(CHAT)).toBe(2);
  });
});

describe('request directives', () => {
  it('Cache-Control: no-store answers but does not write', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const body = { model: MODEL, messages: user('no store') };
    const first = await post(proxy, CHAT, body, { key, headers: { 'cache-control': 'no-store' } });
    expect(first.status).toBe(200);
    await proxy.proxy.flush();
    expect((await post(proxy, CHAT, body, { key })).headers.get('x-cache')).toBe('MISS');
    expect(h.server.count(CHAT)).toBe(2);
  });

  it('Cache-Control: no-cache fetches fresh and overwrites the entry', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const body = { model: MODEL, messages: user('refresh me') };
    h.server.script({ text: 'old' });
    await post(proxy, CHAT, body, { key });
    await proxy.proxy.flush();
    h.server.script({ text: 'new' });
    const fresh = await post(proxy, CHAT, body, { key, headers: { 'cache-control': 'no-cache' } });
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect((await fresh.json()).choices[0].message.content).toBe('new');
    await proxy.proxy.flush();
    const hit = await post(proxy, CHAT, body, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect((await hit.json()).choices[0].message.content).toBe('new');
    expect(h.server.count(CHAT)).toBe(2);
  });

  it('Cache-Control: max-age sets the entry ttl', async () => {
    const cache = createCache();
    const proxy = await h.proxy({ cache });
    const key = apiKey();
    const ttls: (number | null)[] = [];
    cache.on('write', (event) => ttls.push(event.ttl));
    const body = { model: MODEL, messages: user('short lived') };
    await post(proxy, CHAT, body, { key, headers: { 'cache-control': 'max-age=5' } });
    await proxy.proxy.flush();
    expect(ttls).toEqual([5000]);
    expect((await post(proxy, CHAT, body, { key })).headers.get('x-cache')).toBe('HIT');
    // max-age=0: answered, never kept.
    await post(proxy, CHAT, { ...body, messages: user('gone') }, { key, headers: { 'cache-control': 'max-age=0' } });
    await proxy.proxy.flush();
    expect(ttls).toEqual([5000]);
    expect(h.server.count(CHAT)).toBe(2);
    await cache.close();
  });

  it("x-llmemo-mode: 'off' bypasses, 'read-only' never writes, 'replay' answers 504 on a miss", async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const body = { model: MODEL, messages: user('modes') };
    const off = await post(proxy, CHAT, body, { key, headers: { 'x-llmemo-mode': 'off' } });
    expect(off.headers.get('x-cache')).toBe('BYPASS');
    const readOnly = await post(proxy, CHAT, body, { key, headers: { 'x-llmemo-mode': 'read-only' } });
    expect(readOnly.headers.get('x-cache')).toBe('MISS');
    await proxy.proxy.flush();
    const replay = await post(proxy, CHAT, body, { key, headers: { 'x-llmemo-mode': 'replay' } });
    expect(replay.status).toBe(504);
    expect((await replay.json()).error).toMatchObject({ type: 'cache_miss', code: 'cache_miss' });
    expect(h.server.count(CHAT)).toBe(2);
    await post(proxy, CHAT, body, { key });
    await proxy.proxy.flush();
    const replayHit = await post(
      proxy,
      CHAT,
      { ...body, stream: true },
      { key, headers: { 'x-llmemo-mode': 'replay' } },
    );
    expect(replayHit.headers.get('x-cache')).toBe('HIT');
    expect(h.server.count(CHAT)).toBe(3);
  });

  it('rejects a bad max-age or mode with a 400 before anything goes upstream', async () => {
    const proxy = await h.proxy();
    const body = { model: MODEL, messages: user('bad directive') };
    const badAge = await post(proxy, CHAT, body, { headers: { 'cache-control': 'max-age=soon' } });
    expect(badAge.status).toBe(400);
    expect((await badAge.json()).error).toMatchObject({ code: 'invalid_cache_control', type: 'invalid_request_error' });
    const badMode = await post(proxy, CHAT, body, { headers: { 'x-llmemo-mode': 'sometimes' } });
    expect(badMode.status).toBe(400);
    expect((await badMode.json()).error.message).toContain('read-write');
    expect(h.server.count(CHAT)).toBe(0);
  });
});

describe('only complete successful answers are stored', () => {
  it('passes an upstream error through unchanged and does not cache it', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    h.server.failNext(1, { status: 429, message: 'Slow down', headers: { 'retry-after': '7' } });
    const body = { model: MODEL, messages: user('rate limited') };
    const failed = await post(proxy, CHAT, body, { key });
    expect(failed.status).toBe(429);
    expect(failed.headers.get('retry-after')).toBe('7');
    expect(failed.headers.get('x-request-id')).toMatch(/^req_/);
    expect((await failed.json()).error).toMatchObject({ message: 'Slow down', code: 'rate_limit_exceeded' });
    await proxy.proxy.flush();
    const retried = await post(proxy, CHAT, body, { key });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('x-cache')).toBe('MISS');
    expect(h.server.count(CHAT)).toBe(2);
  });

  it('passes an error through to a streamed request and the openai client raises it', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    h.server.failNext(1, { status: 500, message: 'boom' });
    await expect(
      client.chat.completions.create({ model: MODEL, messages: user('fails'), stream: true }),
    ).rejects.toMatchObject({ status: 500, message: expect.stringContaining('boom') });
    const ok = await client.chat.completions.create({ model: MODEL, messages: user('fails'), stream: true });
    expect(await streamText(ok)).toBe('Echo: fails');
    expect(h.server.count(CHAT)).toBe(2);
  });

  it('does not store a stream the upstream cut before [DONE]', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    h.server.script({ chunks: ['one', 'two', 'three', 'four'] });
    h.server.cutNextStream({ afterChunks: 2 });
    const cut = await client.chat.completions.create({ model: MODEL, messages: user('cut'), stream: true });
    // The break is reported in-band, as OpenAI reports mid-stream failures; the client raises it.
    await expect(streamText(cut)).rejects.toThrow(/broke off before it finished.*nothing was cached/);
    await proxy.proxy.flush();
    const again = await client.chat.completions
      .create({ model: MODEL, messages: user('cut'), stream: true })
      .withResponse();
    expect(again.response.headers.get('x-cache')).toBe('MISS');
    expect(await streamText(again.data)).toBe('onetwothreefour');
    expect(h.server.count(CHAT)).toBe(2);
  });

  it('a client that disconnects mid-stream cancels the upstream and nothing is stored', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    // The second event would take a minute: the flight can only end early by being cancelled.
    h.server.script({ chunks: ['first', 'never'] });
    h.server.setLatency({ perTokenMs: 60_000 });
    const body = { model: MODEL, messages: user('leaving'), stream: true };
    const response = await post(proxy, CHAT, body, { key });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    const stats = async () =>
      (await fetch(`${originOf(proxy)}/admin/stats`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }).then((r) => r.json())) as { inFlightStreams: number };
    let inFlight = (await stats()).inFlightStreams;
    while (inFlight > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight = (await stats()).inFlightStreams;
    }
    h.server.setLatency({});
    await proxy.proxy.flush();
    const again = await post(proxy, CHAT, body, { key });
    expect(again.headers.get('x-cache')).toBe('MISS');
    await again.text();
    expect(h.server.count(CHAT)).toBe(2);
  });

  it('replays a hit paced as recorded when asked to', async () => {
    const proxy = await h.proxy({ replay: 'recorded' });
    const key = apiKey();
    const body = { model: MODEL, messages: user('paced'), stream: true };
    const miss = await (await post(proxy, CHAT, body, { key })).text();
    await proxy.proxy.flush();
    const hit = await post(proxy, CHAT, body, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(await hit.text()).toBe(miss);
  });
});

describe('concurrency', () => {
  it('identical concurrent non-streamed requests send one upstream request', async () => {
    const proxy = await h.proxy();
    const client = h.client(proxy);
    h.server.setLatency({ responseMs: 50 });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => client.chat.completions.create({ model: MODEL, messages: user('together') })),
    );
    expect(new Set(results.map((r) => r.choices[0]?.message.content))).toEqual(new Set(['Echo: together']));
    expect(h.server.count(CHAT)).toBe(1);
  });

  it('200 concurrent identical streams → one upstream request, every client gets the full stream', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    const client = h.client(proxy, key);
    let misses = 0;
    proxy.proxy.cache.on('miss', () => misses++);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The upstream holds its answer until every request has looked up and joined the flight.
    h.server.script(async () => {
      await gate;
      return { chunks: ['all ', 'of ', 'us ', 'get ', 'this'] };
    });
    const streams = Array.from({ length: 200 }, () =>
      client.chat.completions
        .create({ model: MODEL, messages: user('crowd'), stream: true })
        .then((stream) => streamText(stream)),
    );
    await until(() => misses >= 200);
    open();
    const texts = await Promise.all(streams);
    expect(texts).toHaveLength(200);
    for (const text of texts) expect(text).toBe('all of us get this');
    expect(h.server.count(CHAT)).toBe(1);
    await proxy.proxy.flush();
    expect(
      (await post(proxy, CHAT, { model: MODEL, messages: user('crowd'), stream: true }, { key })).headers.get(
        'x-cache',
      ),
    ).toBe('HIT');
  });

  it('a coalesced client leaving early does not cut the others, and the stream is still stored', async () => {
    const proxy = await h.proxy();
    const key = apiKey();
    let misses = 0;
    proxy.proxy.cache.on('miss', () => misses++);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    h.server.script(async () => {
      await gate;
      return { chunks: ['x', 'y', 'z'] };
    });
    h.server.setLatency({ perTokenMs: 20 });
    const body = { model: MODEL, messages: user('leader leaves'), stream: true };
    const leaving = post(proxy, CHAT, body, { key });
    const staying = post(proxy, CHAT, body, { key });
    await until(() => misses >= 2);
    open();
    const [left, stayed] = await Promise.all([leaving, staying]);
    const reader = left.body!.getReader();
    await reader.read();
    await reader.cancel();
    const text = await stayed.text();
    expect(ssePayloads(text).at(-1)).toBe('[DONE]');
    expect([left.headers.get('x-llmemo-coalesced'), stayed.headers.get('x-llmemo-coalesced')].sort()).toEqual([
      '1',
      null,
    ]);
    h.server.setLatency({});
    await proxy.proxy.flush();
    const hit = await post(proxy, CHAT, body, { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(await hit.text()).toBe(text);
    expect(h.server.count(CHAT)).toBe(1);
  });
});
