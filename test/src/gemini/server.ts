import type { ServerResponse } from 'node:http';
import { createProviderServer, type Failure, type ProviderTestServer, sendBody } from '../fakes/provider-server.js';
import { type GeminiReply, type GeminiRequest, generateBody, generateEvents, resolve, viewOf } from './generate.js';

export type GeminiTestServer = ProviderTestServer<GeminiReply, GeminiRequest> & {
  /** For @ai-sdk/google's `baseURL`: the origin plus '/v1beta'. */
  readonly url: string;
};

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  503: 'UNAVAILABLE',
};

function fail(res: ServerResponse, failure: Failure): void {
  sendBody(res, failure.status, {
    error: { code: failure.status, message: failure.message, status: STATUS_NAMES[failure.status] ?? 'INTERNAL' },
  });
}

/**
 * A local Gemini API (generateContent, and streamGenerateContent with `alt=sse`) for the real `@ai-sdk/google` and
 * `@langchain/google-genai`: `createGoogleGenerativeAI({ baseURL: server.url })`, `new ChatGoogleGenerativeAI({
 * baseUrl: server.origin })`. The default reply echoes the last user text.
 */
export async function createGeminiTestServer(): Promise<GeminiTestServer> {
  const server = await createProviderServer<GeminiReply, GeminiRequest>({
    fail,
    async route(recorded, res, tools) {
      const view = recorded.method === 'POST' ? viewOf(recorded) : undefined;
      if (!view) return false;
      if (view.contents.length === 0) {
        fail(res, { status: 400, message: '* GenerateContentRequest.contents: contents is not specified' });
        return true;
      }
      const resolved = resolve((await tools.replyFor(view)) ?? {}, view);
      if (view.stream) await tools.stream(res, generateEvents(resolved));
      else sendBody(res, 200, generateBody(resolved));
      return true;
    },
  });
  return Object.assign(server, { url: `${server.origin}/v1beta` });
}
