// What the hit path builds once or copies cheaply (issue 14) must still tell every endpoint apart and hand every
// caller its own objects.
import { AIMessage } from '@langchain/core/messages';
import { createCache } from '@llmemo/core';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreGenerations, storeGeneration } from '../src/generations.js';
import { LlmemoCache } from '../src/index.js';
import { modelEndpoint } from '../src/model-identity.js';

const PROMPT = 'Human: What is the capital of France?';
const OPENAI = '_model:"base_chat_model",_type:"openai",model:"gpt-4o-mini",temperature:0';
const OPENAI_AT = (url: string) => `_model:"base_chat_model",_type:"openai",baseURL:"${url}",model:"gpt-4o-mini"`;
const ANTHROPIC = '_model:"base_chat_model",_type:"anthropic",model:"claude-sonnet-4-5"';

const savedBaseUrl = process.env.OPENAI_BASE_URL;
afterEach(() => {
  if (savedBaseUrl === undefined) delete process.env.OPENAI_BASE_URL;
  else process.env.OPENAI_BASE_URL = savedBaseUrl;
});

describe('LlmemoCache keys', () => {
  it('two scopes never share a key; one scope in two LlmemoCaches over one cache does', () => {
    const cache = createCache();
    const a = new LlmemoCache({ cache, scope: 'gateway-a' });
    const b = new LlmemoCache({ cache, scope: 'gateway-b' });
    const none = new LlmemoCache({ cache });
    for (const llmKey of [OPENAI_AT('https://one.example/v1'), ANTHROPIC]) {
      expect(a.key(PROMPT, llmKey)).not.toBe(b.key(PROMPT, llmKey));
      expect(a.key(PROMPT, llmKey)).toBe(new LlmemoCache({ cache, scope: 'gateway-a' }).key(PROMPT, llmKey));
      expect(a.request(PROMPT, llmKey).endpoint).toContain('gateway-a');
    }
    expect(none.key(PROMPT, OPENAI)).not.toBe(a.key(PROMPT, OPENAI));
    expect(none.request(PROMPT, OPENAI).endpoint).toBeUndefined();
  });

  it('two base URLs never share a key, shown in the llmKey or read from OPENAI_BASE_URL at each call', () => {
    const llmemo = new LlmemoCache({ cache: createCache(), scope: 'team' });
    expect(llmemo.key(PROMPT, OPENAI_AT('https://one.example/v1'))).not.toBe(
      llmemo.key(PROMPT, OPENAI_AT('https://two.example/v1')),
    );
    delete process.env.OPENAI_BASE_URL;
    const unset = llmemo.key(PROMPT, OPENAI);
    process.env.OPENAI_BASE_URL = 'https://one.example/v1';
    const one = llmemo.key(PROMPT, OPENAI);
    process.env.OPENAI_BASE_URL = 'https://two.example/v1';
    const two = llmemo.key(PROMPT, OPENAI);
    expect(new Set([unset, one, two]).size).toBe(3);
    expect(llmemo.request(PROMPT, OPENAI).endpoint).toBe(
      JSON.stringify({ scope: 'team', url: 'https://two.example/v1' }),
    );
    // A base URL in the llmKey wins over the environment, as the model's own client does.
    expect(llmemo.key(PROMPT, OPENAI_AT('https://one.example/v1'))).toBe(
      new LlmemoCache({ cache: llmemo.cache, scope: 'team' }).key(PROMPT, OPENAI_AT('https://one.example/v1')),
    );
  });
});

describe('withCache endpoint labels (memoized by their exact fields)', () => {
  it('never give two endpoints one label, however the fields are split or quoted', () => {
    const labelsOf = (models: object[], scope?: string) => models.map((model) => modelEndpoint(model, scope));
    const models = [
      { baseURL: 'https://one.example/v1' },
      { baseURL: 'https://one.example/v2' },
      { baseURL: 'https://one.example/v1', apiVersion: '2024' },
      { apiVersion: 'https://one.example/v1' },
      { baseURL: 'https://one.example/v1","apiVersion":"2024' },
      { azureOpenAIApiDeploymentName: 'a', azureOpenAIApiInstanceName: 'b' },
      { azureOpenAIApiDeploymentName: 'a","azureOpenAIApiInstanceName', azureOpenAIApiInstanceName: 'b' },
      { configuration: { baseURL: 'https://one.example/v1', defaultQuery: { 'api-version': '1' } } },
      { configuration: { baseURL: 'https://one.example/v1', defaultQuery: { 'api-version': '2' } } },
    ];
    for (let round = 0; round < 2; round++) {
      const plain = labelsOf(models);
      expect(new Set(plain).size).toBe(models.length);
      const scoped = labelsOf(models, 'team');
      expect(new Set([...plain, ...scoped]).size).toBe(2 * models.length);
      expect(labelsOf(models, 'team')).toEqual(scoped);
    }
    expect(modelEndpoint({}, undefined)).toBeUndefined();
  });

  it('follow a model whose fields change after its first call', () => {
    const model: Record<string, unknown> = { baseURL: 'https://one.example/v1' };
    const first = modelEndpoint(model, undefined);
    model.baseURL = 'https://two.example/v1';
    expect(modelEndpoint(model, undefined)).not.toBe(first);
    model.baseURL = 'https://one.example/v1';
    expect(modelEndpoint(model, undefined)).toBe(first);
  });
});

describe('restoreGenerations', () => {
  it('builds new messages from the body without changing it, the marker merged into response_metadata', () => {
    const message = new AIMessage({
      content: 'Paris',
      id: 'chatcmpl-1',
      response_metadata: { model_name: 'gpt-4o-mini', finish_reason: 'stop' },
    });
    const body = {
      generations: [storeGeneration({ text: 'Paris', message, generationInfo: { finish_reason: 'stop' } } as never)],
    };
    const before = JSON.stringify(body);
    const options = { id: 'run-1', marker: { llmemo: { hit: true, age: 5 } }, zeroUsage: false };
    const [first] = restoreGenerations(body, options) as [{ message: AIMessage; generationInfo?: object }];
    const [second] = restoreGenerations(body, { ...options, id: 'run-2' }) as [{ message: AIMessage }];
    expect(JSON.stringify(body)).toBe(before);
    expect(first.message.id).toBe('run-1');
    expect(second.message.id).toBe('run-2');
    expect(first.message.response_metadata).toEqual({
      model_name: 'gpt-4o-mini',
      finish_reason: 'stop',
      llmemo: { hit: true, age: 5 },
    });
    expect(Object.keys(first.message.response_metadata)).toEqual(['model_name', 'finish_reason', 'llmemo']);
    expect(first.message.response_metadata).not.toBe(second.message.response_metadata);
    first.message.response_metadata.model_name = 'changed';
    (first.generationInfo as Record<string, unknown>).finish_reason = 'changed';
    expect(second.message.response_metadata.model_name).toBe('gpt-4o-mini');
    expect(JSON.stringify(body)).toBe(before);
  });
});
