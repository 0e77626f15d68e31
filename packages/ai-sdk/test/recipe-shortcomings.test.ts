// Each shortcoming of the AI SDK docs' caching recipe (reference/ai-sdk.md §4), and a test that llmemo does not
// have it. End to end with @ai-sdk/openai against the local server (on SQLite), or with mock models where the
// local server cannot produce the part (file outputs, error parts).
import { createCache, isLlmemoError } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import { generateText, jsonSchema, Output, streamText, wrapLanguageModel } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cacheMiddleware } from '../src/index.js';
import { CALL, PNG, readAll, textParts } from './fixtures.js';
import { cached, closeCaches, collect, llmemoOf, newCache, provider } from './helpers.js';

const server = useOpenAITestServer();
afterEach(closeCaches);

function setup(api: 'responses' | 'chat' = 'chat', options: Parameters<typeof cached>[2] = {}) {
  const cache = newCache('sqlite');
  const openai = provider(server);
  return { cache, model: cached(api === 'chat' ? openai.chat('gpt-4o-mini') : openai('gpt-4o-mini'), cache, options) };
}

const CHAT = '/v1/chat/completions';

describe('§4.1 the key: JSON.stringify(params)', () => {
  it('ignores abortSignal, the SDK user-agent and other headers, and includeRawChunks', async () => {
    const { cache, model } = setup();
    await generateText({ model, prompt: 'k', abortSignal: new AbortController().signal });
    await cache.flush();
    const hits = [
      await generateText({ model, prompt: 'k' }),
      await generateText({ model, prompt: 'k', headers: { 'user-agent': 'ai/99.0.0', 'x-request-id': 'r-1' } }),
    ];
    const streamed = streamText({ model, prompt: 'k', includeRawChunks: true });
    const rawParts = (await collect(streamed.fullStream)).filter((part) => part.type === 'raw');
    expect(rawParts).toEqual([]);
    expect(hits.map((result) => llmemoOf(result.providerMetadata)?.hit)).toEqual([true, true]);
    expect(llmemoOf(await streamed.providerMetadata)?.hit).toBe(true);
    expect(server.count(CHAT)).toBe(1);
  });

  it('keys headers that change output (an allowlist), so they do split the key', async () => {
    const { cache, model } = setup();
    await generateText({ model, prompt: 'beta' });
    await cache.flush();
    await generateText({ model, prompt: 'beta', headers: { 'OpenAI-Beta': 'assistants=v2' } });
    expect(server.count(CHAT)).toBe(2);
  });

  it('generate and stream of one request share an entry', async () => {
    const { cache, model } = setup();
    await generateText({ model, prompt: 'gs' });
    await cache.flush();
    expect(await streamText({ model, prompt: 'gs' }).text).toBe('Echo: gs');
    expect(server.count(CHAT)).toBe(1);
  });

  it('is canonical: key order of providerOptions and tool schemas does not matter', async () => {
    const { cache, model } = setup();
    const schema = (order: 'ab' | 'ba') =>
      order === 'ab'
        ? { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'] }
        : { required: ['a'], properties: { b: { type: 'number' }, a: { type: 'string' } }, type: 'object' };
    const call = (order: 'ab' | 'ba') =>
      generateText({
        model,
        prompt: 'order',
        providerOptions:
          order === 'ab'
            ? { openai: { user: 'u1', parallelToolCalls: false } }
            : { openai: { parallelToolCalls: false, user: 'u1' } },
        tools: { lookup: { description: 'd', inputSchema: jsonSchema(schema(order) as never) } },
      });
    await call('ab');
    await cache.flush();
    await call('ba');
    expect(server.count(CHAT)).toBe(1);
  });

  it('hashes the same image bytes the same whether they come as Uint8Array, Buffer, base64 or a data URL', async () => {
    const { cache, model } = setup();
    const forms = [
      PNG,
      Buffer.from(PNG),
      Buffer.from(PNG).toString('base64'),
      `data:image/png;base64,${Buffer.from(PNG).toString('base64')}`,
    ];
    for (const image of forms) {
      await generateText({
        model,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'describe' },
              { type: 'image', image, mediaType: 'image/png' },
            ],
          },
        ],
      });
      await cache.flush();
    }
    expect(server.count(CHAT)).toBe(1);
    await generateText({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'describe' },
            { type: 'image', image: new Uint8Array([1, 2, 3]), mediaType: 'image/png' },
          ],
        },
      ],
    });
    expect(server.count(CHAT)).toBe(2);
  });

  it('is a short hashed key, and stores neither the prompt nor the request body, however large the prompt', async () => {
    const { cache, model } = setup();
    const writes: number[] = [];
    cache.on('write', (event) => writes.push(event.bytes));
    const prompt = `${'lorem ipsum '.repeat(90_000)}secret-marker`;
    server.script({ text: 'A short answer.' });
    const result = await generateText({ model, prompt });
    await cache.flush();
    const key = llmemoOf(result.providerMetadata)?.key ?? '';
    expect(key.length).toBeLessThan(200);
    expect(key).not.toContain('lorem');
    expect(Buffer.byteLength(prompt)).toBeGreaterThan(1_000_000);
    expect(writes).toHaveLength(1);
    // The answer echoes the last words only; the 1 MB prompt (and request.body, which holds it) is not stored.
    expect(writes[0]).toBeLessThan(4_000);
  });

  it('keys the provider and model: the same prompt to another model or API is a miss', async () => {
    const cache = newCache('sqlite');
    const openai = provider(server);
    const models = [openai.chat('gpt-4o-mini'), openai.chat('gpt-4o'), openai('gpt-4o-mini')].map((m) =>
      cached(m, cache),
    );
    for (const model of models) {
      await generateText({ model, prompt: 'same' });
      await cache.flush();
    }
    expect(server.count()).toBe(3);
  });
});

describe('§4.2 revival covers only timestamp; bodies stored wholesale', () => {
  it('revives file bytes (Uint8Array) and URL file data, not only the timestamp', async () => {
    const base = new MockLanguageModelV4({
      doGenerate: async () => ({
        content: [
          { type: 'text', text: 'an image' },
          { type: 'file', mediaType: 'image/png', data: { type: 'data', data: PNG } },
        ],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 1, text: 1, reasoning: undefined },
        },
        warnings: [],
        response: { timestamp: new Date(1_700_000_000_000) },
      }),
    });
    const cache = createCache();
    const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
    await generateText({ model, prompt: 'img' });
    await cache.flush();
    const hit = await generateText({ model, prompt: 'img' });
    expect(base.doGenerateCalls).toHaveLength(1);
    // The recipe's naive JSON round trip throws InvalidDataContentError here.
    expect([...(hit.files[0]?.uint8Array ?? [])]).toEqual([...PNG]);
    expect(hit.files[0]?.mediaType).toBe('image/png');
    expect(hit.response.timestamp).toEqual(new Date(1_700_000_000_000));
  });

  it('does not store or replay the HTTP exchange (bodies, headers): a hit carries the response id, model and time', async () => {
    const { cache, model } = setup('responses');
    const first = await generateText({ model, prompt: 'headers' });
    await cache.flush();
    const hit = await generateText({ model, prompt: 'headers' });
    expect(first.response.headers?.['x-request-id']).toMatch(/^req_/);
    expect(hit.response.headers).toBeUndefined();
    expect(hit.response.body).toBeUndefined();
    expect(hit.request.body).toBeUndefined();
    expect({ id: hit.response.id, modelId: hit.response.modelId, timestamp: hit.response.timestamp }).toEqual({
      id: first.response.id,
      modelId: first.response.modelId,
      timestamp: first.response.timestamp,
    });
  });
});

describe('§4.3 streams: error and raw parts cached, no finish check, fixed 10 ms pacing', () => {
  it('never stores a stream with an error part or without a finish part', async () => {
    const streams = [
      [...textParts('half').slice(0, 3), { type: 'error', error: new Error('overloaded') }, textParts('x').at(-1)!],
      textParts('no finish here').slice(0, -1),
    ];
    for (const parts of streams) {
      const base = new MockLanguageModelV4({
        doStream: async () => ({ stream: convertArrayToReadableStream(parts as never[]) }),
      });
      const cache = createCache();
      const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
      await readAll((await model.doStream(CALL)).stream);
      await cache.flush();
      await readAll((await model.doStream(CALL)).stream);
      expect(base.doStreamCalls).toHaveLength(2);
      expect(cache.stats().writes).toBe(0);
    }
  });

  it('does not store raw chunks', async () => {
    const { cache, model } = setup();
    const writes: number[] = [];
    cache.on('write', (event) => writes.push(event.bytes));
    const raw = streamText({ model, prompt: 'raw please', includeRawChunks: true });
    const rawCount = (await collect(raw.fullStream)).filter((part) => part.type === 'raw').length;
    await cache.flush();
    const plain = newCache('sqlite');
    const plainWrites: number[] = [];
    plain.on('write', (event) => plainWrites.push(event.bytes));
    await streamText({
      model: cached(provider(server).chat('gpt-4o-mini'), plain),
      prompt: 'raw please',
    }).consumeStream();
    await plain.flush();
    expect(rawCount).toBeGreaterThan(0);
    // The two entries differ only in generated ids; stored raw chunks would add a few hundred bytes each.
    expect(writes).toHaveLength(1);
    expect(Math.abs(writes[0]! - plainWrites[0]!)).toBeLessThan(40);
  });

  it("replays with no timer by default; { delayMs } and 'recorded' pace the parts", async () => {
    // A memory store: its reads take no timer either, so every timer seen comes from the replay.
    const cache = newCache('memory');
    const base = provider(server).chat('gpt-4o-mini');
    const [instant, delayed, recorded] = (['instant', { delayMs: 7 }, 'recorded'] as const).map((replay) =>
      cached(base, cache, { replay }),
    );
    server.setLatency({ firstTokenMs: 30, perTokenMs: 10 });
    await streamText({ model: instant!, prompt: 'pacing test words' }).consumeStream();
    await cache.flush();
    server.setLatency({});
    const timersDuring = async (model: typeof instant) => {
      const timers: number[] = [];
      const original = globalThis.setTimeout;
      globalThis.setTimeout = ((fn: () => void, ms?: number) => {
        timers.push(ms ?? 0);
        return original(fn, ms);
      }) as typeof setTimeout;
      try {
        expect(await streamText({ model: model!, prompt: 'pacing test words' }).text).toBe('Echo: pacing test words');
      } finally {
        globalThis.setTimeout = original;
      }
      // Transport timers (the HTTP agent's keep-alive, seconds long) are not the replay's.
      return timers.filter((ms) => ms < 1000);
    };
    expect(await timersDuring(instant)).toEqual([]);
    const delays = await timersDuring(delayed);
    expect(delays.length).toBeGreaterThanOrEqual(5);
    // Each part is scheduled against the replay's start; Node's timer clock may fire a ms early, so a later
    // delay can exceed 7 by that much.
    expect(Math.max(...delays)).toBeLessThan(9);
    // The recording waited ~30 ms for its first part: the recorded replay waits for it too.
    expect(Math.max(...(await timersDuring(recorded)))).toBeGreaterThan(10);
    expect(server.count(CHAT)).toBe(1);
  });
});

describe('§4.4 structured output, tools and agent loops', () => {
  it('never stores invalid JSON when JSON output was requested (vercel/ai#9594)', async () => {
    const { cache, model } = setup();
    server.enqueue({ text: '{"name": "Ada", "age": ' }, { json: { name: 'Ada', age: 36 } });
    const person = z.object({ name: z.string(), age: z.number() });
    await expect(generateText({ model, prompt: 'p', output: Output.object({ schema: person }) })).rejects.toThrow();
    await cache.flush();
    const good = await generateText({ model, prompt: 'p', output: Output.object({ schema: person }) });
    expect(good.output).toEqual({ name: 'Ada', age: 36 });
    await cache.flush();
    expect((await generateText({ model, prompt: 'p', output: Output.object({ schema: person }) })).output).toEqual({
      name: 'Ada',
      age: 36,
    });
    expect(server.count(CHAT)).toBe(2);
    expect(cache.stats().writes).toBe(1);
  });

  it('keys tool-call ids by position, so a history with fresh provider ids still hits', async () => {
    const history = (id: string) =>
      [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [{ type: 'tool-call', toolCallId: id, toolName: 'weather', input: { city: 'Paris' } }],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: id,
              toolName: 'weather',
              output: { type: 'json', value: { celsius: 21 } },
            },
          ],
        },
      ] as const;
    const { cache, model } = setup();
    await generateText({ model, messages: [...history('call_AAA')] as never });
    await cache.flush();
    const hit = await generateText({ model, messages: [...history('call_BBB')] as never });
    expect(llmemoOf(hit.providerMetadata)?.hit).toBe(true);
    expect(server.count(CHAT)).toBe(1);

    const exact = setup('chat', { toolCallIds: 'exact' });
    await generateText({ model: exact.model, messages: [...history('call_AAA')] as never });
    await exact.cache.flush();
    await generateText({ model: exact.model, messages: [...history('call_BBB')] as never });
    expect(server.count(CHAT)).toBe(3);
  });

  it('keys every setting that changes the answer (the local-cache cookbook keys only prompt and model)', async () => {
    const { cache, model } = setup();
    const variants = [
      {},
      { temperature: 0.5 },
      { maxOutputTokens: 50 },
      { providerOptions: { openai: { user: 'someone' } } },
      { output: Output.object({ schema: z.object({ a: z.string() }) }) },
      { tools: { t: { description: 'a tool', inputSchema: z.object({}) } } },
      { toolChoice: 'none' as const, tools: { t: { description: 'a tool', inputSchema: z.object({}) } } },
    ];
    for (const variant of variants) {
      await generateText({ model, prompt: 'settings', ...variant } as never);
      await cache.flush();
    }
    expect(server.count(CHAT)).toBe(variants.length);
  });
});

describe('§4.5 writes, TTL, size, stampedes, hit signal', () => {
  it('writes can be awaited (cache.flush) and expire (ttl)', async () => {
    const cache = newCache('sqlite', { ttl: '1h' });
    const model = cached(provider(server).chat('gpt-4o-mini'), cache);
    await generateText({ model, prompt: 'w' });
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
    expect(llmemoOf((await generateText({ model, prompt: 'w' })).providerMetadata)?.hit).toBe(true);
    await generateText({ model, prompt: 'short-lived', providerOptions: { llmemo: { ttl: 20 } } });
    await cache.flush();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(llmemoOf((await generateText({ model, prompt: 'short-lived' })).providerMetadata)?.hit).toBe(false);
    expect(server.count(CHAT)).toBe(3);
  });

  it('does not store an answer over maxEntryBytes, and the call still succeeds', async () => {
    const cache = newCache('sqlite', { maxEntryBytes: 2_000 });
    const skips: string[] = [];
    cache.on('skip', (event) => skips.push(event.code));
    const model = cached(provider(server).chat('gpt-4o-mini'), cache);
    server.script({ text: 'long '.repeat(1000) });
    expect((await generateText({ model, prompt: 'big' })).text).toHaveLength(5000);
    await cache.flush();
    expect(skips).toContain('ENTRY_TOO_LARGE');
    expect(cache.stats().writes).toBe(0);
  });

  it('identical concurrent calls make one provider call (no stampede)', async () => {
    const { model } = setup();
    server.setLatency({ responseMs: 40 });
    await Promise.all(Array.from({ length: 5 }, () => generateText({ model, prompt: 'stampede' })));
    expect(server.count(CHAT)).toBe(1);
  });

  it('signals hits in providerMetadata.llmemo (usage is the original call’s, not billed again)', async () => {
    const { cache, model } = setup();
    const miss = await generateText({ model, prompt: 'signal' });
    await cache.flush();
    const hit = await generateText({ model, prompt: 'signal' });
    expect(llmemoOf(miss.providerMetadata)?.hit).toBe(false);
    expect(llmemoOf(hit.providerMetadata)?.hit).toBe(true);
    expect(cache.stats().tokensSaved).toEqual({ input: miss.usage.inputTokens, output: miss.usage.outputTokens });
  });

  it('rejects bad options at construction, with a message saying what to do', () => {
    const cache = createCache();
    const attempts: unknown[] = [
      () => cacheMiddleware({} as never),
      () => cacheMiddleware({ cache, replay: 'slow' as never }),
      () => cacheMiddleware({ cache, replay: { delayMs: -1 } }),
      () => cacheMiddleware({ cache, ttl: '1h' } as never),
      () => cacheMiddleware({ cache, toolCallIds: 'random' as never }),
    ];
    const messages = attempts.map((attempt) => {
      try {
        (attempt as () => void)();
        return 'no error';
      } catch (error) {
        expect(isLlmemoError(error, 'INVALID_OPTIONS')).toBe(true);
        return (error as Error).message;
      }
    });
    expect(messages[0]).toMatch(/needs a cache: cacheMiddleware\(\{ cache: createCache/);
    expect(messages[1]).toMatch(/replay must be 'instant', 'recorded' or \{ delayMs/);
    expect(messages[2]).toMatch(/replay must be/);
    expect(messages[3]).toMatch(
      /no option 'ttl'.*Set 'ttl' on createCache\(\), or per call in providerOptions\.llmemo/,
    );
    expect(messages[4]).toMatch(/toolCallIds must be 'positional' or 'exact'/);
  });
});
