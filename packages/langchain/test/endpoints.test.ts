// Issue 10 item 8: a LangChain model's endpoint (Azure deployment, instance, endpoint, base path, api-version; a
// base URL) is part of the key. Every answer names the path and query it was served on, so an answer from the wrong
// deployment is visible.
import { AzureChatOpenAI, type AzureChatOpenAIFields, ChatOpenAI } from '@langchain/openai';
import { describe, expect, it } from 'vitest';
import { LlmemoCache, withCache } from '../src/index.js';
import { endpointFields } from '../src/model-identity.js';
import { chatModel, useCaches, useOpenAIServer } from './helpers.js';

const ctx = useOpenAIServer();
const makeCache = useCaches();

function echoWhere() {
  ctx.server.script((request) => ({ text: `served by ${request.path}${request.query}` }));
}

/** A deployment on the local server, addressed the way AzureChatOpenAI builds Azure URLs. */
function azure(deployment: string, fields: Partial<AzureChatOpenAIFields> = {}): AzureChatOpenAI {
  return new AzureChatOpenAI({
    azureOpenAIApiKey: 'azure-key',
    azureOpenAIBasePath: `${ctx.server.origin}/openai/deployments`,
    azureOpenAIApiDeploymentName: deployment,
    azureOpenAIApiVersion: '2024-10-21',
    maxRetries: 0,
    ...fields,
  });
}

const served = (deployment: string, version = '2024-10-21') =>
  `served by /openai/deployments/${deployment}/chat/completions?api-version=${version}`;

describe.each(['sqlite', 'redis'] as const)('LangChain endpoints on %s', (store) => {
  it('withCache: two Azure deployments without a model never share an entry (o1-finetune is not served gpt4o-prod)', async () => {
    echoWhere();
    const cache = await makeCache(store);
    const prod = withCache(azure('gpt4o-prod'), { cache });
    const finetune = withCache(azure('o1-finetune'), { cache });
    expect((await prod.invoke('hello')).content).toBe(served('gpt4o-prod'));
    expect((await finetune.invoke('hello')).content).toBe(served('o1-finetune'));
    // Each hits its own entry; streams too.
    expect((await prod.invoke('hello')).response_metadata.llmemo).toMatchObject({ hit: true });
    expect((await finetune.invoke('hello')).content).toBe(served('o1-finetune'));
    expect(ctx.server.count()).toBe(2);
  });

  it('withCache: api-version, base path and instance are part of the key too', async () => {
    echoWhere();
    const cache = await makeCache(store);
    const models = [
      azure('gpt4o-prod'),
      azure('gpt4o-prod', { azureOpenAIApiVersion: '2025-04-01-preview' }),
      azure('gpt4o-prod', { azureOpenAIBasePath: `${ctx.server.origin}/eu/openai/deployments` }),
    ].map((model) => withCache(model, { cache }));
    const texts = [];
    for (const model of models) texts.push((await model.invoke('which?')).content);
    expect(texts).toEqual([
      served('gpt4o-prod'),
      served('gpt4o-prod', '2025-04-01-preview'),
      'served by /eu/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21',
    ]);
    expect(ctx.server.count()).toBe(3);
  });

  it('LlmemoCache: an Azure model is not cached without a scope (its llmKey shows no deployment), and is with one', async () => {
    echoWhere();
    const cache = await makeCache(store);
    const skips: string[] = [];
    cache.on('skip', (event) => skips.push(event.reason));
    const unscoped = new LlmemoCache({ cache });
    const prod = azure('gpt4o-prod', { cache: unscoped });
    const finetune = azure('o1-finetune', { cache: unscoped });
    expect((await prod.invoke('hello')).content).toBe(served('gpt4o-prod'));
    expect((await finetune.invoke('hello')).content).toBe(served('o1-finetune'));
    expect(ctx.server.count()).toBe(2);
    expect(skips[0]).toMatch(/AzureChatOpenAI's llmKey names neither its deployment.*withCache.*scope/);
    expect(cache.stats().writes).toBe(0);

    const scopedProd = azure('gpt4o-prod', { cache: new LlmemoCache({ cache, scope: 'gpt4o-prod' }) });
    const scopedFinetune = azure('o1-finetune', { cache: new LlmemoCache({ cache, scope: 'o1-finetune' }) });
    for (let i = 0; i < 2; i++) {
      expect((await scopedProd.invoke('hello')).content).toBe(served('gpt4o-prod'));
      expect((await scopedFinetune.invoke('hello')).content).toBe(served('o1-finetune'));
    }
    expect(ctx.server.count()).toBe(4);
  });

  it('two ChatOpenAI base URLs never share an entry, through LlmemoCache and withCache', async () => {
    echoWhere();
    const cache = await makeCache(store);
    const llmemo = new LlmemoCache({ cache });
    const at = (path: string) => chatModel(ctx.server, { configuration: { baseURL: `${ctx.server.origin}${path}` } });
    const viaBaseCache = [at('/a/v1'), at('/b/v1')].map((model) => {
      model.cache = llmemo;
      return model;
    });
    const viaWithCache = [at('/a/v1'), at('/b/v1')].map((model) => withCache(model, { cache }));
    for (const [a, b] of [viaBaseCache, viaWithCache]) {
      for (let i = 0; i < 2; i++) {
        expect((await a!.invoke('where?')).content).toBe('served by /a/v1/chat/completions');
        expect((await b!.invoke('where?')).content).toBe('served by /b/v1/chat/completions');
      }
    }
    expect(ctx.server.count()).toBe(4);
  });

  it('two scopes over one endpoint never share an entry, with the endpoint labels remembered across calls', async () => {
    // Every answer is unique (a call counter): an entry served to the other scope shows as the other's number.
    ctx.server.script((request) => ({ text: `answer ${ctx.server.count()} from ${request.path}` }));
    const cache = await makeCache(store);
    const url = `${ctx.server.origin}/shared/v1`;
    const scoped = (scope: string) => {
      const model = chatModel(ctx.server, { configuration: { baseURL: url } });
      model.cache = new LlmemoCache({ cache, scope });
      return model;
    };
    const viaBaseCache = [scoped('tenant-a'), scoped('tenant-b')];
    const viaWithCache = ['tenant-a', 'tenant-b'].map((scope) =>
      withCache(chatModel(ctx.server, { configuration: { baseURL: url } }), { cache, scope }),
    );
    for (const [a, b] of [viaBaseCache, viaWithCache]) {
      const first = [(await a!.invoke('same prompt')).content, (await b!.invoke('same prompt')).content];
      expect(first[0]).not.toBe(first[1]);
      for (let i = 0; i < 3; i++) {
        expect((await a!.invoke('same prompt')).content).toBe(first[0]);
        expect((await b!.invoke('same prompt')).content).toBe(first[1]);
      }
    }
    // Two scopes × two adapters, each asked once upstream; every later call was its own scope's hit.
    expect(ctx.server.count()).toBe(4);
  });
});

describe('endpoint fields', () => {
  it('are read from Azure, OpenAI and custom-base-URL models without their credentials', () => {
    const fields = endpointFields(
      new AzureChatOpenAI({
        azureOpenAIApiKey: 'secret-azure-key',
        azureOpenAIApiInstanceName: 'east',
        azureOpenAIApiDeploymentName: 'gpt4o-prod',
        azureOpenAIApiVersion: '2024-10-21',
      }),
    );
    expect(fields).toMatchObject({
      azureOpenAIApiInstanceName: 'east',
      azureOpenAIApiDeploymentName: 'gpt4o-prod',
      azureOpenAIApiVersion: '2024-10-21',
    });
    expect(JSON.stringify(fields)).not.toContain('secret');
    const openai = endpointFields(new ChatOpenAI({ apiKey: 'sk-secret', configuration: { baseURL: 'http://h/v1' } }));
    expect(openai['clientConfig.baseURL']).toBe('http://h/v1');
    expect(JSON.stringify(openai)).not.toContain('secret');
  });

  it('withCache and LlmemoCache validate scope at construction', async () => {
    const cache = await makeCache('memory');
    const model = new ChatOpenAI({ apiKey: 'k' });
    for (const scope of ['', 1, {}]) {
      expect(() => withCache(model, { cache, scope: scope as never })).toThrow(/scope must be a non-empty string/);
      expect(() => new LlmemoCache({ cache, scope: scope as never })).toThrow(/scope must be a non-empty string/);
    }
  });
});
