// The AI SDK middleware's core scenarios, written once and run by each compat package against its own `ai` major
// (test/compat/ai5, ai6, ai7). Everything version-specific comes in through `Kit`: this file imports no `ai`, no
// provider and no vitest, so each suite exercises exactly the packages it pins. Assertions use node:assert.
import assert from 'node:assert/strict';

// The `ai` module of whichever major the suite pins: typed loosely on purpose.
type Any = any;

export interface Kit {
  /** The `ai` module of this major. */
  ai: Any;
  /** `createOpenAI` from the matching @ai-sdk/openai. */
  createOpenAI: (options: { baseURL: string; apiKey: string }) => Any;
  /** The matching zod (v4 in every suite). */
  z: Any;
  llmemo: {
    cacheMiddleware: (options: Any) => Any;
    embeddingCacheMiddleware: (options: Any) => Any;
    imageCacheMiddleware: (options: Any) => Any;
    cacheEmbeddingModel: (model: Any, options: Any) => Any;
  };
  createCache: (options: Any) => Any;
  /** A fresh store URL of the kind under test, and a namespace no other test uses. */
  storeUrl: () => string;
  namespace: () => string;
  server: Any;
  /** The model spec version this major's `wrapLanguageModel` hands to middleware. */
  spec: 'v2' | 'v3' | 'v4';
}

export interface Scenario {
  name: string;
  /** Majors the scenario does not apply to (with the reason in the name). */
  skipOn?: Kit['spec'][];
  run: (kit: Kit) => Promise<void>;
}

const RESPONSES = '/v1/responses';
const CHAT = '/v1/chat/completions';

function setup(kit: Kit, options: Any = {}) {
  const cache = kit.createCache({ store: kit.storeUrl(), namespace: kit.namespace(), timeoutMs: 2000 });
  const openai = kit.createOpenAI({ baseURL: kit.server.url, apiKey: 'test' });
  const wrap = (model: Any) =>
    kit.ai.wrapLanguageModel({ model, middleware: kit.llmemo.cacheMiddleware({ cache, ...options }) });
  return { cache, openai, wrap, responses: wrap(openai('gpt-4o-mini')), chat: wrap(openai.chat('gpt-4o-mini')) };
}

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

function info(providerMetadata: Any): { hit: boolean; age: number; key?: string } | undefined {
  return providerMetadata?.llmemo;
}

function stepLimit(kit: Kit, n: number) {
  return (kit.ai.isStepCount ?? kit.ai.stepCountIs)(n);
}

function withoutInfo(providerMetadata: Any) {
  const { llmemo: _ours, ...rest } = providerMetadata ?? {};
  return rest;
}

export const scenarios: Scenario[] = [
  {
    name: 'generateText: miss then hit, on the Responses API and chat completions',
    async run(kit) {
      const { cache, responses, chat } = setup(kit);
      kit.server.script({ text: 'Paris.', usage: { inputTokens: 9, outputTokens: 2 } });
      for (const [model, path] of [
        [responses, RESPONSES],
        [chat, CHAT],
      ] as const) {
        const first = await kit.ai.generateText({ model, prompt: 'Capital of France?' });
        await cache.flush();
        const second = await kit.ai.generateText({ model, prompt: 'Capital of France?' });
        assert.equal(kit.server.count(path), 1);
        assert.equal(second.text, 'Paris.');
        assert.deepEqual(second.usage, first.usage);
        assert.equal(second.finishReason, 'stop');
        assert.ok(second.response.timestamp instanceof Date);
        assert.equal(second.response.timestamp.getTime(), first.response.timestamp.getTime());
        assert.equal(second.response.id, first.response.id);
        assert.deepEqual(withoutInfo(second.providerMetadata), withoutInfo(first.providerMetadata));
        assert.equal(info(first.providerMetadata)?.hit, false);
        assert.equal(info(second.providerMetadata)?.hit, true);
        assert.match(
          info(second.providerMetadata)?.key ?? '',
          /^llmemo:v2:.+:chat:openai\.(responses|chat):gpt-4o-mini:/,
        );
      }
      assert.deepEqual(cache.stats().tokensSaved, { input: 18, output: 4 });
    },
  },
  {
    name: 'streamText: miss then a replay with the same deltas, usage, timestamp and hit flag',
    async run(kit) {
      const { cache, responses, chat } = setup(kit);
      kit.server.script({ chunks: ['One ', 'two ', 'three.'] });
      for (const [model, path] of [
        [responses, RESPONSES],
        [chat, CHAT],
      ] as const) {
        const first = kit.ai.streamText({ model, prompt: 'count' });
        const firstDeltas = await collect(first.textStream);
        await cache.flush();
        const second = kit.ai.streamText({ model, prompt: 'count' });
        const secondDeltas = await collect(second.textStream);
        assert.equal(kit.server.count(path), 1);
        assert.deepEqual(secondDeltas, firstDeltas);
        assert.equal(await second.text, 'One two three.');
        assert.deepEqual(await second.usage, await first.usage);
        const [a, b] = [await first.response, await second.response];
        assert.ok(b.timestamp instanceof Date);
        assert.equal(b.timestamp.getTime(), a.timestamp.getTime());
        assert.equal(info(await first.providerMetadata)?.hit, false);
        assert.equal(info(await second.providerMetadata)?.hit, true);
      }
    },
  },
  {
    name: 'tool calls: a streamed tool loop replays every step, the tool runs again',
    async run(kit) {
      const { cache, chat } = setup(kit);
      let runs = 0;
      const weather = kit.ai.tool({
        description: 'Weather',
        inputSchema: kit.z.object({ city: kit.z.string() }),
        execute: async ({ city }: { city: string }) => {
          runs++;
          return { city, celsius: 21 };
        },
      });
      kit.server.script((request: Any) =>
        request.toolResults.length === 0
          ? { toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }] }
          : { text: `It is ${request.toolResults[0].output}` },
      );
      const texts: string[] = [];
      for (let i = 0; i < 2; i++) {
        const result = kit.ai.streamText({
          model: chat,
          prompt: 'Weather?',
          tools: { weather },
          stopWhen: stepLimit(kit, 3),
        });
        texts.push(await result.text);
        const steps = await result.steps;
        assert.equal(steps[0].toolCalls[0].toolName, 'weather');
        assert.deepEqual(steps[0].toolCalls[0].input, { city: 'Oslo' });
        await cache.flush();
      }
      assert.deepEqual(texts, ['It is {"city":"Oslo","celsius":21}', 'It is {"city":"Oslo","celsius":21}']);
      assert.equal(kit.server.count(CHAT), 2);
      assert.equal(runs, 2);
    },
  },
  {
    name: 'reasoning (Responses API) replays, generate and stream',
    async run(kit) {
      const { cache, responses } = setup(kit);
      kit.server.script({ reasoning: 'Weigh it up', text: 'Done' });
      await kit.ai.generateText({ model: responses, prompt: 'r' });
      await cache.flush();
      const hit = await kit.ai.generateText({ model: responses, prompt: 'r' });
      assert.equal(hit.reasoningText, 'Weigh it up');
      const streamed = kit.ai.streamText({ model: responses, prompt: 'r2' });
      await streamed.consumeStream();
      await cache.flush();
      const replay = kit.ai.streamText({ model: responses, prompt: 'r2' });
      assert.equal(await replay.reasoningText, 'Weigh it up');
      assert.equal(await replay.text, 'Done');
      assert.equal(kit.server.count(RESPONSES), 2);
    },
  },
  {
    name: 'generate and stream of one request serve each other',
    async run(kit) {
      const { cache, chat } = setup(kit);
      const generated = await kit.ai.generateText({ model: chat, prompt: 'both ways' });
      await cache.flush();
      assert.equal(await kit.ai.streamText({ model: chat, prompt: 'both ways' }).text, generated.text);
      const streamed = kit.ai.streamText({ model: chat, prompt: 'other way' });
      const text = await streamed.text;
      await cache.flush();
      const folded = await kit.ai.generateText({ model: chat, prompt: 'other way' });
      assert.equal(folded.text, text);
      assert.deepEqual(folded.usage, await streamed.usage);
      assert.equal(info(folded.providerMetadata)?.hit, true);
      assert.equal(kit.server.count(CHAT), 2);
    },
  },
  {
    name: 'two base URLs with one provider and model id never share an entry (issue 10)',
    async run(kit) {
      const cache = kit.createCache({ store: kit.storeUrl(), namespace: kit.namespace(), timeoutMs: 2000 });
      kit.server.script((request: Any) => ({ text: `served by ${request.path}` }));
      const texts: string[] = [];
      for (const base of ['a', 'b', 'a', 'b']) {
        const openai = kit.createOpenAI({ baseURL: `${kit.server.origin}/${base}/v1`, apiKey: 'test' });
        const model = kit.ai.wrapLanguageModel({
          model: openai.chat('gpt-4o-mini'),
          middleware: kit.llmemo.cacheMiddleware({ cache }),
        });
        texts.push((await kit.ai.generateText({ model, prompt: 'where?' })).text);
        await cache.flush();
      }
      assert.deepEqual(texts, [
        'served by /a/v1/chat/completions',
        'served by /b/v1/chat/completions',
        'served by /a/v1/chat/completions',
        'served by /b/v1/chat/completions',
      ]);
      assert.equal(kit.server.count(), 2);
    },
  },
  {
    name: 'generateObject hits; invalid JSON is never cached',
    async run(kit) {
      const { cache, chat } = setup(kit);
      const schema = kit.z.object({ name: kit.z.string(), age: kit.z.number() });
      kit.server.enqueue({ text: '{"name": "Ada", "age"' }, { json: { name: 'Ada', age: 36 } });
      await assert.rejects(kit.ai.generateObject({ model: chat, schema, prompt: 'who', maxRetries: 0 }));
      await cache.flush();
      const good = await kit.ai.generateObject({ model: chat, schema, prompt: 'who' });
      await cache.flush();
      const hit = await kit.ai.generateObject({ model: chat, schema, prompt: 'who' });
      assert.deepEqual(hit.object, { name: 'Ada', age: 36 });
      assert.deepEqual(hit.object, good.object);
      assert.equal(kit.server.count(CHAT), 2);
    },
  },
  {
    name: 'a bad per-call option throws INVALID_OPTIONS before any request',
    async run(kit) {
      const { chat } = setup(kit);
      const error: Any = await kit.ai
        .generateText({ model: chat, prompt: 'x', maxRetries: 0, providerOptions: { llmemo: { ttl: 'soon' } } })
        .catch((e: unknown) => e);
      assert.equal(error?.code, 'INVALID_OPTIONS');
      assert.match(error.message, /providerOptions\.llmemo\.ttl/);
      assert.equal(kit.server.count(), 0);
    },
  },
  {
    name: 'a stream cut mid-way is not cached',
    async run(kit) {
      const { cache, chat } = setup(kit);
      kit.server.cutNextStream({ afterChunks: 3 });
      const cut = kit.ai.streamText({ model: chat, prompt: 'a b c d e', maxRetries: 0, onError: () => {} });
      await cut.consumeStream().catch(() => {});
      await cache.flush();
      assert.equal(await kit.ai.streamText({ model: chat, prompt: 'a b c d e' }).text, 'Echo: a b c d e');
      await cache.flush();
      assert.equal(kit.server.count(CHAT), 2);
      assert.equal(cache.stats().writes, 1);
    },
  },
  {
    name: 'the middleware sees this major’s spec version, and entries record it',
    async run(kit) {
      const { cache, chat } = setup(kit);
      const writes: Any[] = [];
      cache.on('write', (event: Any) => writes.push(event));
      await kit.ai.generateText({ model: chat, prompt: 'spec' });
      await cache.flush();
      assert.equal(writes.length, 1);
      const entry = await cache.getEntry({
        kind: 'chat',
        provider: 'openai.chat',
        model: 'gpt-4o-mini',
        // Where the model sends its requests, as the middleware reads it from the provider's config.
        endpoint: JSON.stringify({ url: kit.server.url }),
        specVersion: kit.spec,
        input: [{ role: 'user', content: [{ type: 'text', text: 'spec' }] }],
        params: {},
      });
      assert.equal(entry?.key, writes[0].key);
    },
  },
  {
    name: 'embeddings: embedMany sends only the values not cached (wrapEmbeddingModel on ai@6/7)',
    skipOn: ['v2'],
    async run(kit) {
      const { cache, openai } = setup(kit);
      const model = kit.ai.wrapEmbeddingModel({
        model: openai.embedding('text-embedding-3-small'),
        middleware: kit.llmemo.embeddingCacheMiddleware({ cache }),
      });
      await embeddingScenario(kit, cache, model);
    },
  },
  {
    name: 'embeddings: embedMany sends only the values not cached (cacheEmbeddingModel on ai@5)',
    skipOn: ['v3', 'v4'],
    async run(kit) {
      const { cache, openai } = setup(kit);
      const model = kit.llmemo.cacheEmbeddingModel(openai.embedding('text-embedding-3-small'), { cache });
      await embeddingScenario(kit, cache, model);
    },
  },
  {
    name: 'images: generateImage n = 1 hits with the same bytes (wrapImageModel on ai@6/7)',
    skipOn: ['v2'],
    async run(kit) {
      const { cache, openai } = setup(kit);
      const model = kit.ai.wrapImageModel({
        model: openai.image('gpt-image-1'),
        middleware: kit.llmemo.imageCacheMiddleware({ cache }),
      });
      const first = await kit.ai.generateImage({ model, prompt: 'a fox' });
      await cache.flush();
      const second = await kit.ai.generateImage({ model, prompt: 'a fox' });
      assert.deepEqual([...second.image.uint8Array], [...first.image.uint8Array]);
      assert.equal(second.image.mediaType, 'image/png');
      assert.equal(second.providerMetadata.llmemo.images[0].hit, true);
      assert.equal(kit.server.count('/v1/images/generations'), 1);
    },
  },
];

async function embeddingScenario(kit: Kit, cache: Any, model: Any): Promise<void> {
  await kit.ai.embedMany({ model, values: ['alpha', 'beta'] });
  await cache.flush();
  const values = ['gamma', 'alpha', 'beta', 'gamma'];
  const mixed = await kit.ai.embedMany({ model, values });
  const sent = kit.server.requestsTo('/v1/embeddings').map((request: Any) => request.body.input);
  assert.deepEqual(sent, [['alpha', 'beta'], ['gamma']]);
  await cache.flush();
  const single = await kit.ai.embed({ model, value: 'gamma' });
  assert.deepEqual(single.embedding, mixed.embeddings[0]);
  assert.deepEqual(mixed.embeddings[3], mixed.embeddings[0]);
  assert.notDeepEqual(mixed.embeddings[1], mixed.embeddings[0]);
  assert.equal(kit.server.count('/v1/embeddings'), 2);
}
