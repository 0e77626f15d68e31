// Shared parts of the resilience proof: the real @ai-sdk/openai provider pointed at the local test server, wrapped
// with cacheMiddleware. The packages are imported from their sources by path: @llmemo/test-support (this
// directory's package) does not depend on them.
import { createOpenAI } from '@ai-sdk/openai';
import { cacheMiddleware } from '@llmemo/ai-sdk';
import { type CacheOptions, createCache, type ErrorEvent, type ResponseCache } from '@llmemo/core';
import { useOpenAITestServer } from '@llmemo/test-support';
import type { OpenAITestServer } from '@llmemo/test-support/openai';
import { type LanguageModel, wrapLanguageModel } from 'ai';
import { afterEach } from 'vitest';

export const RESPONSES = '/v1/responses';

/** What the test server answers to a prompt when nothing is scripted. */
export const echo = (prompt: string) => `Echo: ${prompt}`;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every few milliseconds; rejects with `what` after `limitMs`. */
export async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}.`);
    await sleep(5);
  }
}

export interface Harness {
  cache: ResponseCache;
  model: LanguageModel;
  errors: ErrorEvent[];
}

/** A cache (counters kept in-process only) and the Responses API model of the test server wrapped with it. */
export function harness(server: OpenAITestServer, options: CacheOptions): Harness {
  const cache = createCache({ persistStats: false, ...options });
  const errors: ErrorEvent[] = [];
  cache.on('error', (event) => errors.push(event));
  const provider = createOpenAI({ baseURL: server.url, apiKey: 'test' });
  const model = wrapLanguageModel({ model: provider('gpt-4o-mini'), middleware: cacheMiddleware({ cache }) });
  return { cache, model, errors };
}

/**
 * The usual setup of a resilience test file: the local server (reset before each test) and `harness(options)`,
 * whose caches are closed after each test.
 */
export function useHarness(): { server: OpenAITestServer; harness: (options: CacheOptions) => Harness } {
  const server = useOpenAITestServer();
  const caches: ResponseCache[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()));
  });
  return {
    server,
    harness: (options) => {
      const made = harness(server, options);
      caches.push(made.cache);
      return made;
    },
  };
}

/**
 * Holds every text-generation reply until `open()`: the server logs (and counts) requests at once but answers them
 * only then, so a test can make sure every caller has joined before the provider answers.
 */
export function gate(server: OpenAITestServer): { open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  server.script(async () => {
    await opened;
    return undefined;
  });
  return { open };
}

/** p50 and p99 of a list of numbers (nearest rank). */
export function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50: rank(50), p99: rank(99), max: sorted.at(-1)! };
}
