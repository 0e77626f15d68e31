export { type UniqueEcho, uniqueEcho } from './echo.js';
export { embeddingFor } from './embeddings.js';
export { imageFor } from './images.js';
export { createOpenAITestServer } from './server.js';
export { countTokens } from './text.js';
export type {
  FailOptions,
  Latency,
  NormalizedMessage,
  OpenAITestServer,
  OpenAITestServerOptions,
  RecordedRequest,
  ReplyRequest,
  RequestMatcher,
  Responder,
  ScriptedError,
  ScriptedReply,
  ScriptedToolCall,
  ScriptedUsage,
} from './types.js';
