export type { GeminiFunctionCall, GeminiImage, GeminiReply, GeminiRequest } from './generate.js';
export type { GeminiTestServer } from './server.js';
export { createGeminiTestServer } from './server.js';
