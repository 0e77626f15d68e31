import { endpointLabel, LlmemoError } from '@llmemo/core';

/**
 * The parts of a provider model's `config` that decide where its requests go. Not a public AI SDK type: every
 * first-party provider keeps its settings on `model.config`, and this reads them the way each one builds its
 * request URL (read from the sources of @ai-sdk/openai 2/3/4, azure, anthropic, google and amazon-bedrock):
 * - OpenAI, Azure, OpenAI-compatible, Mistral, …: `config.url({ path, modelId })`, which also adds Azure's
 *   resource name, deployment path and `api-version`;
 * - Anthropic: `config.buildRequestUrl?.(baseURL, streaming)` or `config.baseURL`;
 * - Google: `config.baseURL` (the model id is keyed already);
 * - Amazon Bedrock: `config.baseUrl()`.
 */
interface ModelConfig {
  url?: unknown;
  baseURL?: unknown;
  buildRequestUrl?: unknown;
  baseUrl?: unknown;
  requestModelId?: unknown;
}

function configOf(model: object): ModelConfig | undefined {
  const config = (model as { config?: unknown }).config;
  return config !== null && typeof config === 'object' ? (config as ModelConfig) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The URL a model's requests go to, without the operation's own path (`/chat/completions`, `:generateContent`),
 * or undefined when the model does not expose it: a custom model, or a model already wrapped by another
 * middleware (wrapLanguageModel hands outer middleware a wrapper without `config`).
 */
export function modelUrl(model: { readonly modelId: string }): string | undefined {
  const config = configOf(model);
  if (!config) return undefined;
  try {
    if (typeof config.url === 'function') {
      const modelId = text(config.requestModelId) ?? model.modelId;
      const url = text(config.url({ path: '', modelId }));
      if (url) return url;
    }
    const baseURL = text(config.baseURL);
    if (baseURL) {
      if (typeof config.buildRequestUrl === 'function') {
        const url = text(config.buildRequestUrl(baseURL, false));
        if (url) return url;
      }
      return baseURL;
    }
    if (typeof config.baseUrl === 'function') return text(config.baseUrl());
    return text(config.baseUrl);
  } catch {
    // A provider that cannot build its URL (a missing resource name) fails its own call the same way.
    return undefined;
  }
}

/**
 * Labels by scope and URL. Building one parses the URL, so it is memoized, but by the URL itself, read from the
 * model on every call (a template string for most providers): a model whose endpoint changes after its first call,
 * say an Azure model whose resource comes from AZURE_RESOURCE_NAME, gets the new endpoint's label at once, never a
 * label remembered for the model object.
 */
const labels = new Map<string | undefined, Map<string | undefined, string | undefined>>();
const MAX_LABELS = 256;

/**
 * `CacheRequest.endpoint` for a call to `model`: its URL as the provider builds it (credentials in it removed) and
 * the middleware's `scope`. Undefined when neither exists, so such requests keep the keys they had.
 */
export function endpointOf(model: { readonly modelId: string }, scope: string | undefined): string | undefined {
  const url = modelUrl(model);
  let byUrl = labels.get(scope);
  if (byUrl === undefined) {
    if (labels.size >= MAX_LABELS) labels.clear();
    byUrl = new Map();
    labels.set(scope, byUrl);
  }
  if (byUrl.has(url)) return byUrl.get(url);
  if (byUrl.size >= MAX_LABELS) byUrl.clear();
  const label = endpointLabel({ url, scope });
  byUrl.set(url, label);
  return label;
}

/** Validates the `scope` option: a non-empty string. */
export function resolveScope(value: unknown, factory: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length > 0) return value;
  throw new LlmemoError(
    'INVALID_OPTIONS',
    `${factory} option scope must be a non-empty string naming where the model's requests go (a gateway, region or account the model does not expose); got ${JSON.stringify(value)}.`,
  );
}
