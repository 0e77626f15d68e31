import { randomUUID } from 'node:crypto';
import { createOpenAITestServer, type OpenAITestServer } from '@llmemo/test-support/openai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type RunningProxy, type StartProxyOptions, startProxy } from '../src/index.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A fresh API key, so tests sharing one Redis never meet each other's entries. */
export function apiKey(label = 'sk'): string {
  return `${label}-${randomUUID()}`;
}

export interface Harness {
  server: OpenAITestServer;
  /** Starts a proxy in front of the test server; closed after the test. */
  proxy(options?: Partial<StartProxyOptions>): Promise<RunningProxy>;
  /** The official client, pointed at a proxy. */
  client(running: RunningProxy, key?: string): OpenAI;
}

/** One test server per file, reset before each test; proxies started in a test are closed after it. */
export function useHarness(): Harness {
  const state: { server?: OpenAITestServer } = {};
  const running: RunningProxy[] = [];
  beforeAll(async () => {
    state.server = await createOpenAITestServer();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proxy) => proxy.close()));
    state.server?.reset();
  });
  afterAll(async () => {
    await state.server?.close();
  });
  return {
    get server() {
      return state.server!;
    },
    async proxy(options = {}) {
      const proxy = await startProxy({ upstream: state.server!.url, port: 0, adminToken: ADMIN_TOKEN, ...options });
      running.push(proxy);
      return proxy;
    },
    client(proxy, key = apiKey()) {
      return new OpenAI({ baseURL: proxy.url, apiKey: key, maxRetries: 0 });
    },
  };
}

/** The proxy's origin, without '/v1'. */
export function originOf(running: RunningProxy): string {
  return running.url.replace(/\/v1$/, '');
}

/** POSTs a JSON (or raw string) body to a proxy path with a bearer key and extra headers. */
export function post(
  running: RunningProxy,
  path: string,
  body: unknown,
  { key, headers = {} }: { key?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${originOf(running)}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key !== undefined && { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body, in order, including '[DONE]'. */
export function ssePayloads(text: string): string[] {
  return text
    .split(/\n\n/)
    .map((event) => event.trim())
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}

/** Collects the text of an openai chat stream. */
export async function streamText(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

/** Resolves once `predicate` holds, checking on every event-loop turn (bounded by the test timeout). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

export function user(content: string): OpenAI.Chat.Completions.ChatCompletionMessageParam[] {
  return [{ role: 'user', content }];
}
