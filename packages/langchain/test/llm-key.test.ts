import { createCache } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DROPPED_LLM_KEY_ENTRIES, describeLlmKey, isSecretName, splitLlmKey } from '../src/index.js';

/** Builds an llmKey exactly as BaseLanguageModel._getSerializedCacheKeyParametersForCall does. */
function llmKey(params: Record<string, unknown>): string {
  return Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}:${JSON.stringify(value)}`)
    .sort()
    .join(',');
}

const defaults = undefined;

describe('splitLlmKey', () => {
  it('splits on the commas between entries, not those inside JSON values', () => {
    const key = llmKey({
      tools: [{ type: 'function', function: { name: 'a,b:c', parameters: { type: 'object' } } }],
      stop: ['\n', ',', '"'],
      temperature: 0.5,
      n: 1,
      flag: true,
      nothing: null,
      text: 'say "hi", then: bye \\ ok',
    });
    expect(Object.fromEntries(splitLlmKey(key)!.map(([name, raw]) => [name, JSON.parse(raw)]))).toEqual({
      tools: [{ type: 'function', function: { name: 'a,b:c', parameters: { type: 'object' } } }],
      stop: ['\n', ',', '"'],
      temperature: 0.5,
      n: 1,
      flag: true,
      nothing: null,
      text: 'say "hi", then: bye \\ ok',
    });
  });

  it('accepts the literal undefined that JSON.stringify gives functions', () => {
    const key = `${llmKey({ model: 'm' })},fetch:undefined,writer:undefined`;
    expect(splitLlmKey(key)).toEqual([
      ['model', '"m"'],
      ['fetch', 'undefined'],
      ['writer', 'undefined'],
    ]);
  });

  it('returns undefined for text that is not an llmKey', () => {
    for (const text of ['no colon', 'a:"unterminated', 'a:{"open":1', 'a:1,', ':1', 'a:"x"b:2']) {
      expect(splitLlmKey(text), text).toBeUndefined();
    }
    expect(splitLlmKey('')).toEqual([]);
  });
});

describe('describeLlmKey', () => {
  it('keeps what changes the answer and names provider and model', () => {
    const call = describeLlmKey(
      llmKey({
        _model: 'base_chat_model',
        _type: 'openai',
        model: 'gpt-4o-mini',
        model_name: 'gpt-4o-mini',
        temperature: 0,
        max_tokens: 100,
        maxTokens: 100,
        stop: ['x'],
        baseURL: 'http://localhost/v1',
      }),
      defaults,
    );
    expect(call.provider).toBe('openai');
    expect(call.model).toBe('gpt-4o-mini');
    expect(call.params).toEqual({
      _model: 'base_chat_model',
      _type: 'openai',
      model: 'gpt-4o-mini',
      model_name: 'gpt-4o-mini',
      temperature: 0,
      max_tokens: 100,
      maxTokens: 100,
      stop: ['x'],
      baseURL: 'http://localhost/v1',
    });
  });

  it('drops credentials, signals, timeouts and LangGraph runtime entries', () => {
    const clean = describeLlmKey(llmKey({ _type: 'openai', model: 'm' }), defaults);
    const noisy = describeLlmKey(
      `${llmKey({
        _type: 'openai',
        model: 'm',
        apiKey: 'sk-1',
        openAIApiKey: 'sk-2',
        azure_openai_api_key: 'sk-3',
        authorization: 'Bearer x',
        credentials: { secretAccessKey: 'y' },
        signal: {},
        timeout: 1000,
        control: {},
        executionInfo: { checkpointId: 'c', taskId: 't', nodeFirstAttemptTime: Date.now() },
        version: 'v2',
        promptIndex: 3,
      })},fetch:undefined,interrupt:undefined,writer:undefined`,
      defaults,
    );
    expect(noisy).toEqual(clean);
  });

  it('routes defaultHeaders to core, which keys only allowlisted headers (credentials often ride in headers)', () => {
    const cache = createCache();
    const keyOf = (headers: Record<string, string>) => {
      const call = describeLlmKey(llmKey({ _type: 'openai', defaultHeaders: headers }), defaults);
      return cache.key({
        kind: 'langchain',
        provider: call.provider,
        model: call.model,
        input: 'x',
        params: call.params,
      });
    };
    expect(keyOf({ 'OpenAI-Beta': 'v2', 'X-Api-Key': 'one' })).toBe(keyOf({ 'OpenAI-Beta': 'v2', 'X-Api-Key': 'two' }));
    expect(keyOf({ 'OpenAI-Beta': 'v2' })).not.toBe(keyOf({ 'OpenAI-Beta': 'v1' }));
  });

  it("stabilizes zod v3's _cached, which is null before the first parse and the shape after", () => {
    const schema = (cached: unknown) => ({
      type: 'json_schema',
      json_schema: { name: 'extract', schema: { _def: { typeName: 'ZodObject' }, _cached: cached } },
    });
    const before = describeLlmKey(llmKey({ _type: 'openai', response_format: schema(null) }), defaults);
    const after = describeLlmKey(
      llmKey({ _type: 'openai', response_format: schema({ shape: { a: {} }, keys: ['a'] }) }),
      defaults,
    );
    expect(after).toEqual(before);
    // A `_cached` that is not zod's (no sibling _def) is data and stays.
    const data = describeLlmKey(llmKey({ _type: 'openai', x: { _cached: 1 } }), defaults);
    expect(data.params.x).toEqual({ _cached: 1 });
  });

  it('a custom policy drops more, or keeps a default', () => {
    const policy = { drop: ['user'], keep: ['timeout'] };
    const call = describeLlmKey(llmKey({ _type: 'x', user: 'u1', timeout: 5, signal: {} }), policy);
    expect(call.params).toEqual({ _type: 'x', timeout: 5 });
  });

  it('an unparseable llmKey is kept whole', () => {
    expect(describeLlmKey('weird', defaults)).toEqual({
      provider: 'unknown',
      model: 'unknown',
      params: { llmKey: 'weird' },
    });
  });
});

describe('isSecretName', () => {
  it('matches API-key and credential names but not token limits, the same when asked again (memoized)', () => {
    for (let round = 0; round < 2; round++) {
      for (const name of [
        'apiKey',
        'api_key',
        'openAIApiKey',
        'AZURE_OPENAI_API_KEY',
        'Authorization',
        'credentials',
      ]) {
        expect(isSecretName(name), name).toBe(true);
      }
      for (const name of ['maxTokens', 'max_tokens', 'max_completion_tokens', 'model', 'topK', 'keys', 'apikeys']) {
        expect(isSecretName(name), name).toBe(false);
      }
    }
  });

  it('the default drop list covers every LangGraph runtime config key that reaches a model call', () => {
    for (const name of ['executionInfo', 'control', 'interrupt', 'writer', 'signal', 'version', 'store', 'context']) {
      expect(DEFAULT_DROPPED_LLM_KEY_ENTRIES).toContain(name);
    }
  });
});
