// Issue 11: every LangChain chat class the tests install, checked for a key that ignores its model, settings or
// endpoint. For each class, models that differ in one thing that changes the answer must get different withCache
// keys; LlmemoCache (which only sees LangChain's llmKey) must either key them apart or refuse to cache them.
import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage } from '@langchain/core/messages';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { ChatGoogleGenerativeAI } from '@langchain/google-genai';
import { AzureChatOpenAI, ChatOpenAI } from '@langchain/openai';
import { createCache, isLlmemoError } from '@llmemo/core';
import { describe, expect, it } from 'vitest';
import { ChatModelCache } from '../src/chat-model-cache.js';
import { LlmemoCache } from '../src/index.js';
import { resolveChatOptions } from '../src/options.js';

const cache = createCache();

function withCacheKey(model: BaseChatModel): string {
  const resolved = resolveChatOptions({ cache }, 'test');
  const request = new ChatModelCache(resolved, resolved.policy, undefined).request(
    model,
    [new HumanMessage('hi')],
    {} as never,
    'spec',
  );
  if (!request) throw new Error('not keyable');
  return cache.key(request);
}

/** LlmemoCache's key, or 'refused' when it does not cache the model. */
function baseCacheKey(model: BaseChatModel): string {
  try {
    return new LlmemoCache({ cache }).key('Human: hi', model._getSerializedCacheKeyParametersForCall({} as never));
  } catch (error) {
    if (isLlmemoError(error, 'UNSUPPORTED')) return 'refused';
    throw error;
  }
}

const azure = (fields: Record<string, unknown> = {}) =>
  new AzureChatOpenAI({
    azureOpenAIApiKey: 'k',
    azureOpenAIApiInstanceName: 'east',
    azureOpenAIApiDeploymentName: 'gpt4o-prod',
    azureOpenAIApiVersion: '2024-10-21',
    ...fields,
  });
const anthropic = (fields: Record<string, unknown> = {}) =>
  new ChatAnthropic({ model: 'claude-sonnet-4-5', apiKey: 'k', ...fields });
const gemini = (fields: Record<string, unknown> = {}) =>
  new ChatGoogleGenerativeAI({ model: 'gemini-2.5-flash', apiKey: 'k', ...fields });
const openai = (fields: Record<string, unknown> = {}) => new ChatOpenAI({ model: 'gpt-4o', apiKey: 'k', ...fields });

const CLASSES: Record<string, BaseChatModel[]> = {
  ChatOpenAI: [
    openai(),
    openai({ model: 'gpt-4o-mini' }),
    openai({ temperature: 0.2 }),
    openai({ maxTokens: 10 }),
    openai({ configuration: { baseURL: 'http://gateway/v1' } }),
  ],
  AzureChatOpenAI: [
    azure(),
    azure({ azureOpenAIApiDeploymentName: 'o1-finetune' }),
    azure({ azureOpenAIApiInstanceName: 'west' }),
    azure({ azureOpenAIApiVersion: '2025-04-01-preview' }),
    azure({ azureOpenAIApiInstanceName: undefined, azureOpenAIEndpoint: 'https://other.example' }),
    azure({ temperature: 0.2 }),
  ],
  ChatAnthropic: [
    anthropic(),
    anthropic({ model: 'claude-opus-4-1' }),
    anthropic({ temperature: 0.2 }),
    anthropic({ maxTokens: 10 }),
    anthropic({ thinking: { type: 'enabled', budget_tokens: 1024 } }),
    anthropic({ anthropicApiUrl: 'http://gateway' }),
    anthropic({ clientOptions: { baseURL: 'http://other-gateway' } }),
  ],
  ChatGoogleGenerativeAI: [
    gemini(),
    gemini({ model: 'gemini-2.5-pro' }),
    gemini({ temperature: 0.2 }),
    gemini({ maxOutputTokens: 10 }),
    gemini({ thinkingConfig: { thinkingBudget: 0 } }),
    gemini({ json: true }),
    gemini({ safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }] }),
    gemini({ baseUrl: 'http://gateway' }),
    gemini({ apiVersion: 'v1' }),
  ],
  FakeListChatModel: [new FakeListChatModel({ responses: ['a'] }), new FakeListChatModel({ responses: ['b'] })],
};

describe.each(Object.entries(CLASSES))('%s', (_name, models) => {
  it('withCache keys every variant apart', () => {
    const keys = models.map(withCacheKey);
    expect(new Set(keys).size).toBe(models.length);
  });

  it('LlmemoCache keys every variant apart, or refuses to cache it', () => {
    const keys = models.map(baseCacheKey).filter((key) => key !== 'refused');
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('the classes whose llmKey hides something', () => {
  it('withCache labels the entry with the model id the instance names, even when the llmKey names none', () => {
    expect(withCacheKey(gemini({ model: 'gemini-2.5-pro' }))).toMatch(/:langchain:googlegenerativeai:gemini-2\.5-pro:/);
  });

  it('LlmemoCache refuses ChatGoogleGenerativeAI (no model in its llmKey), Azure and Anthropic without a scope', () => {
    expect(baseCacheKey(gemini())).toBe('refused');
    expect(baseCacheKey(azure())).toBe('refused');
    expect(baseCacheKey(anthropic())).toBe('refused');
    expect(baseCacheKey(openai())).not.toBe('refused');
  });
});
