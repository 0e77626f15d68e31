import type {
  LanguageModelV4CallOptions,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from '@ai-sdk/provider';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';

export const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

/** A URL the SDK can "download" without a network: it resolves file outputs given as URLs. */
export const PNG_URL = new URL(`data:image/png;base64,${Buffer.from(PNG).toString('base64')}`);

export const USAGE: LanguageModelV4Usage = {
  inputTokens: { total: 12, noCache: 10, cacheRead: 2, cacheWrite: undefined },
  outputTokens: { total: 30, text: 20, reasoning: 10 },
  raw: { total_tokens: 42 },
};

/** A stream with every part type a V4 model can emit (raw and ping included: they must not be stored). */
export function everyPart(): LanguageModelV4StreamPart[] {
  return [
    { type: 'stream-start', warnings: [{ type: 'other', message: 'a warning' }] },
    {
      type: 'response-metadata',
      id: 'resp_1',
      modelId: 'mock-model-2026-01-01',
      timestamp: new Date(1_700_000_000_000),
    },
    { type: 'raw', rawValue: { huge: 'x'.repeat(100) } },
    { type: 'reasoning-start', id: 'r1', providerMetadata: { mock: { signature: 'sig' } } },
    { type: 'reasoning-delta', id: 'r1', delta: 'Let me ' },
    { type: 'reasoning-delta', id: 'r1', delta: 'think.' },
    { type: 'reasoning-end', id: 'r1' },
    { type: 'text-start', id: 't1' },
    { type: 'text-delta', id: 't1', delta: 'Hello' },
    { type: 'ping' },
    { type: 'text-delta', id: 't1', delta: ', world' },
    { type: 'text-end', id: 't1', providerMetadata: { mock: { itemId: 'msg_1' } } },
    { type: 'tool-input-start', id: 'call_1', toolName: 'search', providerExecuted: true },
    { type: 'tool-input-delta', id: 'call_1', delta: '{"q":' },
    { type: 'tool-input-delta', id: 'call_1', delta: '"cats"}' },
    { type: 'tool-input-end', id: 'call_1' },
    { type: 'tool-call', toolCallId: 'call_1', toolName: 'search', input: '{"q":"cats"}', providerExecuted: true },
    { type: 'tool-result', toolCallId: 'call_1', toolName: 'search', result: { hits: 3 } },
    { type: 'source', sourceType: 'url', id: 's1', url: 'https://example.com/cats', title: 'Cats' },
    { type: 'source', sourceType: 'document', id: 's2', mediaType: 'application/pdf', title: 'Cat facts' },
    { type: 'file', mediaType: 'image/png', data: { type: 'data', data: PNG } },
    { type: 'file', mediaType: 'image/png', data: { type: 'url', url: PNG_URL } },
    { type: 'reasoning-file', mediaType: 'image/png', data: { type: 'data', data: PNG } },
    { type: 'custom', kind: 'mock.marker', providerMetadata: { mock: { at: 1 } } },
    {
      type: 'finish',
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: USAGE,
      providerMetadata: { mock: { cost: 0.5 } },
    },
  ] as LanguageModelV4StreamPart[];
}

export function textParts(text: string, finish: 'stop' | 'error' | 'length' = 'stop'): LanguageModelV4StreamPart[] {
  return [
    { type: 'stream-start', warnings: [] },
    // Every first-party provider's stream names its response; a stream without a timestamp gets one added.
    { type: 'response-metadata', id: 'resp_1', timestamp: new Date(1_700_000_000_000) },
    { type: 'text-start', id: '0' },
    ...text
      .split(' ')
      .map((word, i): LanguageModelV4StreamPart => ({ type: 'text-delta', id: '0', delta: i ? ` ${word}` : word })),
    { type: 'text-end', id: '0' },
    { type: 'finish', finishReason: { unified: finish, raw: finish }, usage: USAGE },
  ];
}

export function generateResult(
  content: LanguageModelV4GenerateResult['content'],
  overrides: Partial<LanguageModelV4GenerateResult> = {},
): LanguageModelV4GenerateResult {
  return {
    content,
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: USAGE,
    warnings: [],
    response: { id: 'gen_1', modelId: 'mock-model-2026-01-01', timestamp: new Date(1_700_000_000_000) },
    ...overrides,
  };
}

/** A mock model that answers every doStream with a fresh stream of `parts()` and counts calls. */
export function streamingModel(parts: () => LanguageModelV4StreamPart[], modelId = 'mock-model') {
  return new MockLanguageModelV4({
    modelId,
    doStream: async () => ({ stream: convertArrayToReadableStream(parts()) }),
  });
}

export function generatingModel(result: () => LanguageModelV4GenerateResult, modelId = 'mock-model') {
  return new MockLanguageModelV4({ modelId, doGenerate: async () => result() });
}

export const CALL: LanguageModelV4CallOptions = { prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] };

export async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

/** Removes `providerMetadata.llmemo` from a finish part (to compare a replay with the original). */
export function withoutCacheInfo<T>(parts: T[]): T[] {
  return parts.map((part) => {
    const meta = (part as { providerMetadata?: Record<string, unknown> }).providerMetadata;
    if (!meta || !('llmemo' in meta)) return part;
    const { llmemo: _ours, ...rest } = meta;
    const copy = { ...part } as Record<string, unknown>;
    if (Object.keys(rest).length) copy.providerMetadata = rest;
    else delete copy.providerMetadata;
    return copy as T;
  });
}
