export type { AnthropicReply, AnthropicRequest, AnthropicToolCall } from './messages.js';
export type { AnthropicTestServer } from './server.js';
export { createAnthropicTestServer } from './server.js';
