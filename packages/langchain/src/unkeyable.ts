import type { ModelCall } from './llm-key.js';

/**
 * llmKey `_type`s of classes that route by fields their llmKey never shows (checked against @langchain/openai 1.6,
 * @langchain/anthropic 1.5 and @langchain/google-genai 2.3): LlmemoCache, which sees only the llmKey, cannot tell
 * two of their endpoints apart.
 */
const HIDDEN_ENDPOINTS: Readonly<Record<string, string>> = Object.freeze({
  azure_openai: "AzureChatOpenAI's llmKey names neither its deployment nor its instance, endpoint or api-version",
  anthropic: "ChatAnthropic's llmKey leaves out its API URL (anthropicApiUrl, clientOptions.baseURL)",
  googlegenerativeai: "ChatGoogleGenerativeAI's llmKey leaves out its base URL and API version",
});

const USE_WITH_CACHE =
  'Use withCache(model, { cache }) from @llmemo/langchain, which reads the model itself and caches it safely';

/**
 * Why LlmemoCache must not cache calls with this llmKey, or undefined when it may. An answer must never be served
 * for another model, setting or endpoint, so a key that names no model (ChatGoogleGenerativeAI has no identifying
 * params: its llmKey is its class name alone, whatever its model, temperature or safety settings) is refused, and
 * so is a class that hides its endpoint unless `scope` names it.
 */
export function unkeyableReason(call: ModelCall, scope: string | undefined): string | undefined {
  if (call.model === 'unknown') {
    return `llmemo: LlmemoCache does not cache this '${call.provider}' model: the cache key LangChain builds for it names no model, so two models or settings would share answers. ${USE_WITH_CACHE}.`;
  }
  const hidden = HIDDEN_ENDPOINTS[call.provider];
  if (hidden !== undefined && scope === undefined) {
    return `llmemo: LlmemoCache does not cache '${call.provider}' models without a scope: ${hidden}, so two endpoints would share answers. ${USE_WITH_CACHE}, or pass new LlmemoCache({ cache, scope }) with a scope naming this model's endpoint (one LlmemoCache per endpoint).`;
  }
  return undefined;
}
