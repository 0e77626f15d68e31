import { randomUUID } from 'node:crypto';
import { createOpenAITestServer, type OpenAITestServer, uniqueEcho } from '@llmemo/test-support/openai';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ProxyProcess } from './process.js';

/**
 * The attacker's upstream: every answer unique (a call counter, the last characters of each credential, the path,
 * query and output-changing headers), so an answer served to the wrong request shows in its text.
 */
export function useEchoUpstream(options: { basePaths?: string[] } = {}): { readonly server: OpenAITestServer } {
  const state: { server?: OpenAITestServer } = {};
  beforeAll(async () => {
    state.server = await createOpenAITestServer(options);
  });
  afterEach(() => {
    state.server?.reset();
    state.server?.script(uniqueEcho().responder);
  });
  beforeAll(() => state.server!.script(uniqueEcho().responder));
  afterAll(async () => {
    await state.server?.close();
  });
  return {
    get server() {
      return state.server!;
    },
  };
}

export const secretKey = (label: string) => `sk-${label}-${randomUUID()}`;

export interface Answer {
  status: number;
  cache: string | null;
  namespace: string | null;
  bypass: string | null;
  /** The assistant text (the echo), or the error message. */
  text: string;
  headers: Headers;
}

export interface Ask {
  path?: string;
  headers?: Record<string, string>;
  /** A JSON value, or raw text / bytes sent as they are. */
  body?: unknown;
  prompt?: string;
  method?: string;
}

/** A chat completion through the proxy with raw fetch: what curl or any language's HTTP client would send. */
export async function ask(proxy: Pick<ProxyProcess, 'origin'>, request: Ask = {}): Promise<Answer> {
  const { path = '/v1/chat/completions', headers = {}, prompt = 'what is the secret?', method = 'POST' } = request;
  const body =
    request.body === undefined
      ? JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })
      : typeof request.body === 'string' || request.body instanceof Uint8Array
        ? request.body
        : JSON.stringify(request.body);
  const response = await fetch(`${proxy.origin}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(method === 'GET' ? {} : { body: body as BodyInit }),
  });
  const raw = await response.text();
  let text = raw;
  try {
    const parsed = JSON.parse(raw) as {
      choices?: { message?: { content?: string } }[];
      error?: { message?: string };
    };
    text = parsed.choices?.[0]?.message?.content ?? parsed.error?.message ?? raw;
  } catch {
    // not JSON: keep the raw text
  }
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    namespace: response.headers.get('x-llmemo-namespace'),
    bypass: response.headers.get('x-llmemo-bypass'),
    text,
    headers: response.headers,
  };
}

/** Asks until the answer is a HIT: the entry has landed in the store (writes are off the critical path). */
export async function stored(proxy: Pick<ProxyProcess, 'origin'>, request: Ask = {}): Promise<Answer> {
  let answer = await ask(proxy, request);
  for (let i = 0; i < 200 && answer.cache !== 'HIT'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    answer = await ask(proxy, request);
  }
  if (answer.cache !== 'HIT') throw new Error(`never became a HIT: ${answer.status} ${answer.cache} ${answer.text}`);
  return answer;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
