import type { ServerResponse } from 'node:http';
import { createProviderServer, type Failure, type ProviderTestServer, sendBody } from '../fakes/provider-server.js';
import { nextId } from '../openai/text.js';
import { type AnthropicReply, type AnthropicRequest, messageBody, messageEvents, resolve, viewOf } from './messages.js';

export type AnthropicTestServer = ProviderTestServer<AnthropicReply, AnthropicRequest> & {
  /** For @ai-sdk/anthropic's `baseURL`: the origin plus '/v1'. */
  readonly url: string;
};

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

function fail(res: ServerResponse, failure: Failure): void {
  sendBody(
    res,
    failure.status,
    { type: 'error', error: { type: ERROR_TYPES[failure.status] ?? 'api_error', message: failure.message } },
    { 'request-id': nextId('req_') },
  );
}

/**
 * A local Anthropic Messages API (POST …/messages, JSON and SSE) for the real `@ai-sdk/anthropic` and
 * `@langchain/anthropic`: `createAnthropic({ baseURL: server.url })`, `new ChatAnthropic({ anthropicApiUrl:
 * server.origin })`. The default reply echoes the last user text.
 */
export async function createAnthropicTestServer(): Promise<AnthropicTestServer> {
  const server = await createProviderServer<AnthropicReply, AnthropicRequest>({
    fail,
    async route(recorded, res, tools) {
      if (recorded.method !== 'POST' || !recorded.path.endsWith('/messages')) return false;
      const body = recorded.body as Record<string, unknown> | undefined;
      for (const field of ['model', 'max_tokens', 'messages']) {
        if (body?.[field] === undefined) {
          fail(res, { status: 400, message: `${field}: Field required` });
          return true;
        }
      }
      const view = viewOf(recorded);
      const resolved = resolve((await tools.replyFor(view)) ?? {}, view);
      const headers = { 'request-id': nextId('req_') };
      if (view.stream) await tools.stream(res, messageEvents(resolved), headers);
      else sendBody(res, 200, messageBody(resolved), headers);
      return true;
    },
  });
  return Object.assign(server, { url: `${server.origin}/v1` });
}
