// The three AI SDK model specifications this package serves, as unions. Types only: nothing here exists at runtime,
// and none of it appears in the public declarations (users have one `@ai-sdk/provider` major, not all three).
import type {
  EmbeddingModelV2,
  EmbeddingModelV3,
  EmbeddingModelV4,
  ImageModelV2,
  ImageModelV3,
  ImageModelV4,
  JSONObject,
  LanguageModelV2,
  LanguageModelV2CallOptions,
  LanguageModelV2Content,
  LanguageModelV2FinishReason,
  LanguageModelV2StreamPart,
  LanguageModelV2Usage,
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
} from '@ai-sdk/provider';
import type { TokenUsage } from '@llmemo/core';

/** The result shapes this package knows how to store and replay. */
export const SPEC_VERSIONS = ['v2', 'v3', 'v4'] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];

export type LanguageModel = LanguageModelV2 | LanguageModelV3 | LanguageModelV4;
export type CallOptions = LanguageModelV2CallOptions | LanguageModelV3CallOptions | LanguageModelV4CallOptions;
export type GenerateResult =
  | Awaited<ReturnType<LanguageModelV2['doGenerate']>>
  | LanguageModelV3GenerateResult
  | LanguageModelV4GenerateResult;
export type StreamResult =
  | Awaited<ReturnType<LanguageModelV2['doStream']>>
  | Awaited<ReturnType<LanguageModelV3['doStream']>>
  | Awaited<ReturnType<LanguageModelV4['doStream']>>;
export type StreamPart = LanguageModelV2StreamPart | LanguageModelV3StreamPart | LanguageModelV4StreamPart;
export type Content = LanguageModelV2Content | LanguageModelV3Content | LanguageModelV4Content;
export type Usage = LanguageModelV2Usage | LanguageModelV3Usage;
export type FinishReason = LanguageModelV2FinishReason | LanguageModelV3FinishReason | LanguageModelV4FinishReason;
export type Warning = GenerateResult['warnings'][number];
export type ProviderMetadata = Record<string, JSONObject>;

export type EmbeddingModel = EmbeddingModelV2<unknown> | EmbeddingModelV3 | EmbeddingModelV4;
export type EmbedOptions = Parameters<EmbeddingModel['doEmbed']>[0];
export type EmbedResult = Awaited<ReturnType<EmbeddingModel['doEmbed']>>;

export type ImageModel = ImageModelV2 | ImageModelV3 | ImageModelV4;
export type ImageOptions = Parameters<ImageModel['doGenerate']>[0];
export type ImageResult = Awaited<ReturnType<ImageModel['doGenerate']>>;

/** The model's spec version, or undefined for one this package does not know (such calls bypass the cache). */
export function specVersionOf(model: { readonly specificationVersion?: unknown }): SpecVersion | undefined {
  const version = model.specificationVersion;
  return (SPEC_VERSIONS as readonly unknown[]).includes(version) ? (version as SpecVersion) : undefined;
}

/** 'stop', 'tool-calls', 'error', …: V2 has a string, V3/V4 `{ unified, raw }`. */
export function unifiedFinishReason(reason: FinishReason | undefined): string | undefined {
  if (reason === undefined || reason === null) return undefined;
  return typeof reason === 'string' ? reason : reason.unified;
}

function total(value: number | { total?: number | undefined } | undefined): number | undefined {
  if (typeof value === 'number') return value;
  return typeof value?.total === 'number' ? value.total : undefined;
}

/** Input and output token counts from a V2 (flat numbers) or V3/V4 (`{ total, … }`) usage object. */
export function tokenUsage(usage: Usage | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  const inputTokens = total(usage.inputTokens);
  const outputTokens = total(usage.outputTokens);
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  const out: TokenUsage = {};
  if (inputTokens !== undefined) out.inputTokens = inputTokens;
  if (outputTokens !== undefined) out.outputTokens = outputTokens;
  return out;
}
