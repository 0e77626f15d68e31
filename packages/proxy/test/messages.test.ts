import Anthropic from '@anthropic-ai/sdk';
import { type AnthropicTestServer, createAnthropicTestServer } from '@llmemo/test-support/anthropic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../src/index.js';
import { apiKey, originOf, useHarness } from './helpers.js';

const h = useHarness();
const anthropic: { server?: AnthropicTestServer } = {};
beforeAll(async () => {
  anthropic.server = await createAnthropicTestServer();
});
afterAll(async () => {
  await anthropic.server?.close();
});
const fake = () => anthropic.server!;
const MESSAGES = '/v1/messages';
const MODEL = 'claude-sonnet-4-5';

async function proxy(): Promise<RunningProxy> {
  fake().reset();
  return h.proxy({ anthropicUpstream: fake().origin });
}

function claude(running: RunningProxy, key = apiKey('sk-ant')): Anthropic {
  return new Anthropic({ baseURL: originOf(running), apiKey: key, maxRetries: 0 });
}

const ask = (content: string): Anthropic.MessageCreateParamsNonStreaming => ({
  model: MODEL,
  max_tokens: 256,
  messages: [{ role: 'user', content }],
});

/** Raw POST /v1/messages with an Anthropic key, for byte-level checks. */
function post(running: RunningProxy, body: unknown, key: string, headers: Record<string, string> = {}) {
  return fetch(`${originOf(running)}${MESSAGES}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
}

/** A message as sent on the wire: without what the SDK's stream helper adds (`parsed_output`, undefined fields). */
function wire(message: Anthropic.Message): unknown {
  const { parsed_output: _parsed, ...rest } = message as Anthropic.Message & { parsed_output?: unknown };
  return JSON.parse(JSON.stringify(rest));
}

const THINKING_REPLY = {
  thinking: 'Let me think about the weather.',
  signature: 'EqQBCkYIBxgCKkD-signature',
  chunks: ['It is ', 'sunny ', 'in Paris.'],
  toolCalls: [{ id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', days: [1, 2] } }],
};

describe('POST /v1/messages through @anthropic-ai/sdk', () => {
  it('answers a repeated request from the cache with the same message, sent to the Anthropic upstream', async () => {
    const running = await proxy();
    const client = claude(running);
    const first = await client.messages.create(ask('hello claude')).withResponse();
    expect(first.response.headers.get('x-cache')).toBe('MISS');
    await running.proxy.flush();
    const second = await client.messages.create(ask('hello claude')).withResponse();
    expect(second.response.headers.get('x-cache')).toBe('HIT');
    expect(second.data).toEqual(first.data);
    expect(second.data.content).toEqual([{ type: 'text', text: 'Echo: hello claude' }]);
    expect(fake().count(MESSAGES)).toBe(1);
    // Nothing went to the OpenAI upstream, and the credential went through as x-api-key.
    expect(h.server.requests).toHaveLength(0);
    expect(fake().requests[0]!.headers['x-api-key']).toMatch(/^sk-ant-/);
  });

  it('replays a stream byte for byte: thinking with its signature, tool_use input_json_delta, pings', async () => {
    const running = await proxy();
    const key = apiKey('sk-ant');
    fake().script(THINKING_REPLY);
    const body = { ...ask('weather?'), stream: true, thinking: { type: 'enabled', budget_tokens: 1024 } };
    const miss = await post(running, body, key);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const missText = await miss.text();
    await running.proxy.flush();
    const hit = await post(running, body, key);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('content-type')).toContain('text/event-stream');
    const hitText = await hit.text();
    expect(hitText).toBe(missText);
    expect(hitText).toContain('event: ping\n');
    expect(hitText).toContain('"signature_delta"');
    expect(hitText).toContain('"input_json_delta"');
    expect(hitText.trim().endsWith('data: {"type":"message_stop"}')).toBe(true);
    expect(fake().count(MESSAGES)).toBe(1);

    // The SDK reads the replay into the same message it read from the upstream.
    const client = claude(running, key);
    const streamed = await client.messages.stream(body as Anthropic.MessageStreamParams).finalMessage();
    expect(streamed.content).toEqual([
      { type: 'thinking', thinking: THINKING_REPLY.thinking, signature: THINKING_REPLY.signature },
      { type: 'text', text: 'It is sunny in Paris.' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', days: [1, 2] } },
    ]);
    expect(streamed.stop_reason).toBe('tool_use');
    expect(fake().count(MESSAGES)).toBe(1);
  });

  it('a stream entry answers a plain request with the message the events add up to', async () => {
    const running = await proxy();
    const client = claude(running);
    fake().script(THINKING_REPLY);
    const params = { ...ask('stream first'), thinking: { type: 'enabled' as const, budget_tokens: 1024 } };
    const streamed = await client.messages.stream(params).finalMessage();
    await running.proxy.flush();
    const plain = await client.messages.create(params).withResponse();
    expect(plain.response.headers.get('x-cache')).toBe('HIT');
    expect(plain.data).toEqual(wire(streamed));
    expect(plain.data.usage.output_tokens).toBeGreaterThan(1);
    expect(fake().count(MESSAGES)).toBe(1);
  });

  it('a JSON entry answers a stream with the events Anthropic would send', async () => {
    const running = await proxy();
    const client = claude(running);
    fake().script(THINKING_REPLY);
    const params = { ...ask('json first'), thinking: { type: 'enabled' as const, budget_tokens: 1024 } };
    const plain = await client.messages.create(params);
    await running.proxy.flush();
    const names: string[] = [];
    const stream = client.messages.stream(params);
    stream.on('streamEvent', (event) => names.push(event.type));
    const streamed = await stream.finalMessage();
    expect((await stream.withResponse()).response.headers.get('x-cache')).toBe('HIT');
    expect(wire(streamed)).toEqual(plain);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(fake().count(MESSAGES)).toBe(1);
  });
});

describe('POST /v1/messages never caches a failure', () => {
  it('an upstream 529 goes to the client as is and the next request goes upstream', async () => {
    const running = await proxy();
    const client = claude(running);
    fake().failNext(1, { status: 529, message: 'Overloaded' });
    await expect(client.messages.create(ask('fail once'))).rejects.toMatchObject({ status: 529 });
    const next = await client.messages.create(ask('fail once')).withResponse();
    expect(next.response.headers.get('x-cache')).toBe('MISS');
    expect(fake().count(MESSAGES)).toBe(2);
  });

  it('a stream cut mid-way and a stream ending in an error event are not stored', async () => {
    const running = await proxy();
    const key = apiKey('sk-ant');
    const body = { ...ask('cut'), stream: true };
    fake().cutNextStream({ afterChunks: 3 });
    await post(running, body, key)
      .then((response) => response.text())
      .catch(() => '');
    fake().enqueue({ text: 'partial answer', streamError: 'overloaded_error' });
    const errored = await (await post(running, body, key)).text();
    expect(errored).toContain('event: error\n');
    await running.proxy.flush();
    const third = await post(running, body, key);
    expect(third.headers.get('x-cache')).toBe('MISS');
    expect(await third.text()).toContain('event: message_stop');
    await running.proxy.flush();
    expect((await post(running, body, key)).headers.get('x-cache')).toBe('HIT');
    expect(fake().count(MESSAGES)).toBe(3);
  });

  it('the SDK raises the error event of a stream that broke off between events', async () => {
    const running = await proxy();
    const client = claude(running);
    fake().cutNextStream({ afterChunks: 4 });
    await expect(client.messages.stream(ask('broken')).finalMessage()).rejects.toThrow(/broke off/);
    await running.proxy.flush();
    const next = await client.messages.create(ask('broken')).withResponse();
    expect(next.response.headers.get('x-cache')).toBe('MISS');
  });
});

describe('POST /v1/messages: requests that differ never share an entry', () => {
  /** Every upstream answer is unique, so a shared entry shows as the same text. */
  async function uniqueUpstream() {
    const running = await proxy();
    let n = 0;
    fake().script(() => ({ text: `answer ${++n}` }));
    const text = async (body: unknown, key: string, headers: Record<string, string> = {}) => {
      const response = await post(running, body, key, headers);
      expect(response.status).toBe(200);
      const message = (await response.json()) as Anthropic.Message;
      await running.proxy.flush();
      return { cache: response.headers.get('x-cache'), text: (message.content[0] as Anthropic.TextBlock).text };
    };
    return { running, text };
  }

  it('two x-api-keys, and a Bearer key, each get their own namespace', async () => {
    const { running, text } = await uniqueUpstream();
    const [a, b] = [apiKey('sk-ant-a'), apiKey('sk-ant-b')];
    const first = await text(ask('same'), a);
    expect(await text(ask('same'), a)).toEqual({ cache: 'HIT', text: first.text });
    const other = await text(ask('same'), b);
    expect(other.cache).toBe('MISS');
    expect(other.text).not.toBe(first.text);
    const bearer = await fetch(`${originOf(running)}${MESSAGES}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey('sk-ant-c')}` },
      body: JSON.stringify(ask('same')),
    });
    expect(bearer.headers.get('x-cache')).toBe('MISS');
    expect(fake().count(MESSAGES)).toBe(3);
  });

  it('anthropic-version, anthropic-beta, model, system, tools and the thinking budget each split the key', async () => {
    const { text } = await uniqueUpstream();
    const key = apiKey('sk-ant');
    const base = ask('same question');
    const tool = { name: 'lookup', description: 'look up', input_schema: { type: 'object', properties: {} } };
    const variants: [unknown, Record<string, string>][] = [
      [base, {}],
      [base, { 'anthropic-version': '2024-01-01' }],
      [base, { 'anthropic-beta': 'prompt-caching-2024-07-31' }],
      [base, { 'anthropic-beta': 'output-128k-2025-02-19' }],
      [{ ...base, model: 'claude-haiku-4-5' }, {}],
      [{ ...base, system: 'You are terse.' }, {}],
      [{ ...base, system: 'You are verbose.' }, {}],
      [{ ...base, tools: [tool] }, {}],
      [{ ...base, tools: [{ ...tool, name: 'search' }] }, {}],
      [{ ...base, thinking: { type: 'enabled', budget_tokens: 1024 } }, {}],
      [{ ...base, thinking: { type: 'enabled', budget_tokens: 2048 } }, {}],
      [{ ...base, max_tokens: 257 }, {}],
    ];
    const seen = new Set<string>();
    for (const [body, headers] of variants) {
      const answer = await text(body, key, headers);
      expect(answer.cache).toBe('MISS');
      expect(seen.has(answer.text)).toBe(false);
      seen.add(answer.text);
    }
    // Control: each variant, asked again, is a hit on its own entry.
    for (const [body, headers] of variants) expect((await text(body, key, headers)).cache).toBe('HIT');
    expect(fake().count(MESSAGES)).toBe(variants.length);
  });

  it('a messages entry never answers a chat completion with the same model and messages', async () => {
    const running = await h.proxy({ anthropicUpstream: h.server.url });
    const key = apiKey('sk');
    const messages = [{ role: 'user', content: 'shared words' }];
    h.server.script({ text: 'from chat' });
    const chat = await fetch(`${originOf(running)}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: MODEL, messages }),
    });
    expect(chat.headers.get('x-cache')).toBe('MISS');
    await running.proxy.flush();
    const message = await fetch(`${originOf(running)}${MESSAGES}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: MODEL, messages, max_tokens: 10 }),
    });
    expect(message.headers.get('x-cache')).not.toBe('HIT');
  });
});

describe('POST /v1/messages with the proxy’s other controls', () => {
  it('20 concurrent identical streams share one upstream stream, and the entry then answers', async () => {
    const running = await proxy();
    const key = apiKey('sk-ant');
    fake().script({ chunks: ['one ', 'two ', 'three'] });
    const body = { ...ask('together'), stream: true };
    const texts = await Promise.all(Array.from({ length: 20 }, async () => (await post(running, body, key)).text()));
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toContain('"text":"three"');
    await running.proxy.flush();
    expect((await post(running, body, key)).headers.get('x-cache')).toBe('HIT');
    expect(fake().count(MESSAGES)).toBe(1);
  });

  it('honours x-llmemo-mode and Cache-Control, and counts under endpoint="messages"', async () => {
    const running = await proxy();
    const key = apiKey('sk-ant');
    const off = await post(running, ask('directives'), key, { 'x-llmemo-mode': 'off' });
    expect(off.headers.get('x-cache')).toBe('BYPASS');
    const noStore = await post(running, ask('directives'), key, { 'cache-control': 'no-store' });
    expect(noStore.headers.get('x-cache')).toBe('MISS');
    await running.proxy.flush();
    expect((await post(running, ask('directives'), key)).headers.get('x-cache')).toBe('MISS');
    await running.proxy.flush();
    expect((await post(running, ask('directives'), key)).headers.get('x-cache')).toBe('HIT');
    const metrics = await (await fetch(`${originOf(running)}/metrics`)).text();
    expect(metrics).toMatch(/llmemo_proxy_requests_total\{endpoint="messages",cache="hit"\} 1/);
    expect(metrics).toMatch(/llmemo_proxy_upstream_requests_total\{endpoint="messages"\} 3/);
  });

  it('the rest of /v1/messages/* passes through to the Anthropic upstream, uncached', async () => {
    const running = await proxy();
    const response = await post(running, ask('count me'), apiKey('sk-ant')).then(() =>
      fetch(`${originOf(running)}${MESSAGES}/count_tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey('sk-ant') },
        body: JSON.stringify(ask('count me')),
      }),
    );
    expect(response.headers.get('x-cache')).toBe('BYPASS');
    expect(fake().count(`${MESSAGES}/count_tokens`)).toBe(1);
    expect(h.server.requests).toHaveLength(0);
  });

  it('without anthropicUpstream, messages go to the upstream (no request reaches a host nobody named)', async () => {
    const running = await h.proxy();
    await post(running, ask('where to'), apiKey('sk-ant'));
    expect(h.server.count(MESSAGES)).toBe(1);
  });
});
