// LlmemoCache remembers the request core prepared (its key derived once) for each exact (prompt, llmKey) pair. These
// tests try to make two different calls share a remembered key: every answer of the test server is unique, so a
// call served another call's entry shows up as a missing upstream call and a repeated answer.

import type { Generation } from '@langchain/core/outputs';
import { ChatOpenAI } from '@langchain/openai';
import { storeUrl } from '@llmemo/test-support';
import { describe, expect, it } from 'vitest';
import { LlmemoCache } from '../src/index.js';
import { MEMO_MAX_ENTRIES } from '../src/prepared-memo.js';
import { chatModel, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

/** Every answer is new: `answer 1`, `answer 2`, … */
function uniqueAnswers() {
  let served = 0;
  ctx.server.script(() => ({ text: `answer ${++served}` }));
}

async function ask(model: ChatOpenAI, input: string): Promise<string> {
  return String((await model.invoke(input)).content);
}

/** Asks each input twice: the first round calls the provider once per input, the second hits each one's own. */
async function askTwice(pairs: [ChatOpenAI, string][]): Promise<string[]> {
  const first: string[] = [];
  for (const [model, input] of pairs) first.push(await ask(model, input));
  const again: string[] = [];
  for (const [model, input] of pairs) again.push(await ask(model, input));
  expect(again).toEqual(first);
  expect(new Set(first).size).toBe(pairs.length);
  expect(ctx.server.count()).toBe(pairs.length);
  return first;
}

describe.each(['sqlite', 'redis'] as const)('LlmemoCache prepared-request memo on %s', (store) => {
  it('prompts differing by one character, whitespace or Unicode normalization form never share a key', async () => {
    uniqueAnswers();
    // Without normalization these are six requests to core, so the memo must not fold any two of them together.
    const cache = await makeCache(store, { normalize: 'none' });
    const model = chatModel(ctx.server, { cache: new LlmemoCache({ cache }) });
    const prompts = ['Say hi', 'Say hj', 'Say hi ', 'Say  hi', 'Caf\u00e9?', 'Cafe\u0301?'];
    await askTwice(prompts.map((prompt) => [model, prompt]));
  });

  it('llmKeys differing only in model, temperature or endpoint never share a key through one LlmemoCache', async () => {
    uniqueAnswers();
    const cache = await makeCache(store);
    const llmemo = new LlmemoCache({ cache });
    const models = [
      chatModel(ctx.server, { cache: llmemo }),
      chatModel(ctx.server, { cache: llmemo, model: 'gpt-4o' }),
      chatModel(ctx.server, { cache: llmemo, temperature: 0.5 }),
      chatModel(ctx.server, { cache: llmemo, configuration: { baseURL: `${ctx.server.origin}/eu/v1` } }),
    ];
    await askTwice(models.map((model) => [model, 'Which one?']));
  });

  it('an endpoint read from OPENAI_BASE_URL is checked on every use of a remembered key', async () => {
    uniqueAnswers();
    const cache = await makeCache(store);
    const llmemo = new LlmemoCache({ cache });
    const saved = process.env.OPENAI_BASE_URL;
    try {
      // Built while OPENAI_BASE_URL is unset, the models' llmKeys show no baseURL (all the same); their clients,
      // made at the first call, go where the variable says by then.
      delete process.env.OPENAI_BASE_URL;
      const models = Array.from(
        { length: 4 },
        () => new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test', maxRetries: 0, cache: llmemo }),
      );
      const where = ['/a/v1', '/b/v1', '/b/v1', '/a/v1'];
      const answers: string[] = [];
      for (const [i, model] of models.entries()) {
        process.env.OPENAI_BASE_URL = `${ctx.server.origin}${where[i]}`;
        answers.push(await ask(model, 'Where?'));
      }
      expect(answers).toEqual(['answer 1', 'answer 2', 'answer 2', 'answer 1']);
      expect(ctx.server.requests.map((request) => request.path)).toEqual([
        '/a/v1/chat/completions',
        '/b/v1/chat/completions',
      ]);
    } finally {
      if (saved === undefined) delete process.env.OPENAI_BASE_URL;
      else process.env.OPENAI_BASE_URL = saved;
    }
  });

  it('the same (prompt, llmKey) under two scopes, or two LlmemoCaches with other options, never shares a key', async () => {
    uniqueAnswers();
    const cache = await makeCache(store);
    const model = (llmemo: LlmemoCache) => chatModel(ctx.server, { cache: llmemo });
    await askTwice([
      [model(new LlmemoCache({ cache, scope: 'eu' })), 'Hello'],
      [model(new LlmemoCache({ cache, scope: 'us' })), 'Hello'],
      [model(new LlmemoCache({ cache, namespace: `${cache.namespace}-other` })), 'Hello'],
      [model(new LlmemoCache({ cache })), 'Hello'],
    ]);
  });

  it('two caches sharing one store under other namespaces or encryption keys never share a key', async () => {
    uniqueAnswers();
    const url = storeUrl(store);
    const first = await makeCache(store, { store: url, encryption: { key: 'a'.repeat(64) } });
    // The same namespace under another key (its digests are keyed differently), and another namespace.
    const second = await makeCache(store, {
      store: url,
      namespace: first.namespace,
      encryption: { key: 'b'.repeat(64) },
    });
    const third = await makeCache(store, { store: url, encryption: { key: 'a'.repeat(64) } });
    await askTwice(
      [first, second, third].map((cache) => [chatModel(ctx.server, { cache: new LlmemoCache({ cache }) }), 'Hi']),
    );
  });

  it("nothing is remembered under an app's key encoder, which may read per-call state (the tenant here)", async () => {
    uniqueAnswers();
    const cache = await makeCache(store);
    const llmemo = new LlmemoCache({ cache });
    let tenant = 'a';
    llmemo.makeDefaultKeyEncoder((prompt, llmKey) => `${tenant}|${prompt}|${llmKey}`);
    const model = chatModel(ctx.server, { cache: llmemo });
    const a = await ask(model, 'Mine?');
    tenant = 'b';
    const b = await ask(model, 'Mine?');
    expect(b).not.toBe(a);
    tenant = 'a';
    expect(await ask(model, 'Mine?')).toBe(a);
    expect(ctx.server.count()).toBe(2);
  });

  it('after useStore, a remembered key reads the new store (a miss there), then hits its own entry', async () => {
    uniqueAnswers();
    const cache = await makeCache(store);
    const model = chatModel(ctx.server, { cache: new LlmemoCache({ cache }) });
    const before = await ask(model, 'Swap?');
    expect(await ask(model, 'Swap?')).toBe(before);
    await cache.useStore('memory://');
    const after = await ask(model, 'Swap?');
    expect(after).not.toBe(before);
    expect(await ask(model, 'Swap?')).toBe(after);
    expect(ctx.server.count()).toBe(2);
  });
});

describe('LlmemoCache prepared-request memo bound', () => {
  it('past its bound, evicted and kept pairs each still find their own entry', async () => {
    const cache = await makeCache('memory');
    const llmemo = new LlmemoCache({ cache });
    const llmKey = chatModel(ctx.server)._getSerializedCacheKeyParametersForCall({});
    const prompts = Array.from({ length: MEMO_MAX_ENTRIES + 64 }, (_, i) => `prompt ${i}`);
    const generation = (text: string): Generation[] => [{ text }];
    for (const prompt of prompts) await llmemo.update(prompt, llmKey, generation(`for ${prompt}`));
    const memo = (llmemo as unknown as { memo: { size: number } }).memo;
    expect(memo.size).toBe(MEMO_MAX_ENTRIES);
    // The first pairs were evicted, the last ones are remembered: both kinds hit their own entry.
    for (const prompt of [...prompts.slice(0, 64), ...prompts.slice(-64)]) {
      expect((await llmemo.lookup(prompt, llmKey))?.[0]?.text).toBe(`for ${prompt}`);
    }
    expect(await llmemo.lookup('prompt 1', `${llmKey},x:1`)).toBeNull();
  });
});
