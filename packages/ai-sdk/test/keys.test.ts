// What goes into a language-model call's key, at the middleware level with ai@7's mock models.
import type { LanguageModelV4CallOptions, LanguageModelV4Prompt } from '@ai-sdk/provider';
import { createCache } from '@llmemo/core';
import { wrapLanguageModel } from 'ai';
import { MockLanguageModelV3, MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { positionalToolIds } from '../src/chat-request.js';
import { cacheMiddleware } from '../src/index.js';
import { CALL, generateResult, PNG } from './fixtures.js';

function setup() {
  const base = new MockLanguageModelV4({ doGenerate: async () => generateResult([{ type: 'text', text: 'ok' }]) });
  const cache = createCache();
  const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ cache }) });
  const call = async (params: LanguageModelV4CallOptions) => {
    const result = await model.doGenerate(params);
    await cache.flush();
    return result;
  };
  return { base, cache, call };
}

const tools: LanguageModelV4CallOptions['tools'] = [
  { type: 'function', name: 'weather', inputSchema: { type: 'object', properties: {} } },
];

describe('the language-model key', () => {
  it("does not split on ai@7's default toolChoice without tools, nor on an empty tools list", async () => {
    const { base, call } = setup();
    await call(CALL);
    await call({ ...CALL, toolChoice: { type: 'auto' } });
    await call({ ...CALL, tools: [], toolChoice: { type: 'auto' } });
    expect(base.doGenerateCalls).toHaveLength(1);
    // With tools, the tool choice is part of the key.
    await call({ ...CALL, tools, toolChoice: { type: 'auto' } });
    await call({ ...CALL, tools, toolChoice: { type: 'required' } });
    expect(base.doGenerateCalls).toHaveLength(3);
  });

  it('hashes V4 file data the same as bytes or base64, and keys URLs by href', async () => {
    const { base, call } = setup();
    const prompt = (data: unknown): LanguageModelV4Prompt => [
      { role: 'user', content: [{ type: 'file', mediaType: 'image/png', data: data as never }] },
    ];
    await call({ prompt: prompt({ type: 'data', data: PNG }) });
    await call({ prompt: prompt({ type: 'data', data: Buffer.from(PNG) }) });
    await call({ prompt: prompt({ type: 'data', data: Buffer.from(PNG).toString('base64') }) });
    expect(base.doGenerateCalls).toHaveLength(1);
    await call({ prompt: prompt({ type: 'url', url: new URL('https://example.com/a.png') }) });
    await call({ prompt: prompt({ type: 'url', url: new URL('https://example.com/a.png') }) });
    await call({ prompt: prompt({ type: 'url', url: new URL('https://example.com/b.png') }) });
    expect(base.doGenerateCalls).toHaveLength(3);
  });

  it('normalizes prompt text (trailing whitespace, CRLF) but not parameters', async () => {
    const { base, call } = setup();
    const text = (value: string): LanguageModelV4CallOptions => ({
      prompt: [{ role: 'user', content: [{ type: 'text', text: value }] }],
    });
    await call(text('Hello\r\nworld'));
    await call(text('Hello\nworld  '));
    expect(base.doGenerateCalls).toHaveLength(1);
    await call({ ...text('Hello\nworld'), stopSequences: ['END '] });
    await call({ ...text('Hello\nworld'), stopSequences: ['END'] });
    expect(base.doGenerateCalls).toHaveLength(3);
  });

  it('records the spec version: a V3 entry is never replayed into a V4 model of the same id', async () => {
    const cache = createCache();
    const middleware = cacheMiddleware({ cache });
    const result = generateResult([{ type: 'text', text: 'ok' }]);
    const v3 = new MockLanguageModelV3({ doGenerate: async () => result as never });
    const v4 = new MockLanguageModelV4({ doGenerate: async () => result });
    const keys: string[] = [];
    for (const model of [v3, v4, v3, v4]) {
      const out = await middleware.wrapGenerate({
        doGenerate: () => model.doGenerate(CALL as never),
        doStream: () => model.doStream(CALL as never),
        params: CALL,
        model,
      });
      await cache.flush();
      keys.push(out.providerMetadata.llmemo.key);
    }
    expect(v3.doGenerateCalls).toHaveLength(1);
    expect(v4.doGenerateCalls).toHaveLength(1);
    expect(new Set(keys).size).toBe(2);
  });
});

describe('positionalToolIds', () => {
  const conversation = (id: string, approval: string): LanguageModelV4Prompt => [
    { role: 'user', content: [{ type: 'text', text: 'go' }] },
    {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: id, toolName: 'a', input: {} },
        { type: 'tool-call', toolCallId: `${id}-2`, toolName: 'b', input: {} },
      ],
    },
    {
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: `${id}-2`, toolName: 'b', output: { type: 'text', value: '2' } },
        { type: 'tool-result', toolCallId: id, toolName: 'a', output: { type: 'text', value: '1' } },
        { type: 'tool-approval-response', approvalId: approval, approved: true },
      ],
    },
  ];

  it('renames ids by first appearance, consistently between calls and results', () => {
    const renamed = positionalToolIds(conversation('call_x', 'ap_1'));
    expect(renamed).toEqual(positionalToolIds(conversation('call_y', 'ap_2')));
    const tool = renamed[2] as { content: { toolCallId?: string; approvalId?: string }[] };
    expect(tool.content.map((part) => part.toolCallId ?? part.approvalId)).toEqual(['tc1', 'tc0', 'ap0']);
  });

  it('leaves the prompt untouched: copies on write, and returns a prompt without tool parts as is', () => {
    const original = conversation('call_x', 'ap_1');
    const snapshot = structuredClone(original);
    positionalToolIds(original);
    expect(original).toEqual(snapshot);
    const plain = [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }];
    expect(positionalToolIds(plain)).toBe(plain);
  });
});
