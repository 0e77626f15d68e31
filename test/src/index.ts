export type { AnthropicReply, AnthropicRequest, AnthropicTestServer, AnthropicToolCall } from './anthropic/index.js';
export { createAnthropicTestServer } from './anthropic/index.js';
export { ensureCommand } from './commands.js';
export type { ProviderTestServer } from './fakes/provider-server.js';
export type { GeminiFunctionCall, GeminiImage, GeminiReply, GeminiRequest, GeminiTestServer } from './gemini/index.js';
export { createGeminiTestServer } from './gemini/index.js';
export type {
  FailOptions,
  Latency,
  OpenAITestServer,
  OpenAITestServerOptions,
  RecordedRequest,
  ReplyRequest,
  RequestMatcher,
  Responder,
  ScriptedReply,
  ScriptedToolCall,
  ScriptedUsage,
  UniqueEcho,
} from './openai/index.js';
export { countTokens, createOpenAITestServer, embeddingFor, imageFor, uniqueEcho } from './openai/index.js';
export { useOpenAITestServer } from './openai/lifecycle.js';
export type { RedisServer } from './redis-server.js';
export { ensureRedisBinary, freePort, startRedisServer } from './redis-server.js';
export type { StoreKind } from './stores.js';
export { redisUrl, STORE_KINDS, storeUrl, tempDir, uniqueNamespace } from './stores.js';
