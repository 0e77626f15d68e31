import { fileURLToPath } from 'node:url';
import { createOpenAI, type OpenAIProvider } from '@ai-sdk/openai';
import { type CacheOptions, createCache, type ResponseCache } from '@llmemo/core';

/** The committed fixtures: one reviewable JSON file per recorded answer. */
export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

/**
 * The cache the app and its tests share. The mode comes from LLMEMO_MODE (read by createCache): unset, it records
 * what is missing; `LLMEMO_MODE=replay` (CI) never calls the provider and fails on a missing fixture.
 */
export function fixtureCache(options: CacheOptions = {}): ResponseCache {
  return createCache({
    store: `file://${FIXTURES}`,
    namespace: 'triage',
    // Fixtures never expire; `llmemo prune --unused-since 30d` removes the ones no test reads any more.
    ttl: null,
    // Keeps each request beside its answer, so a reviewer sees what was asked (it stores the prompts).
    recordRequest: true,
    // Counts hits per entry (the default; in fixtures/+stats/, git-ignored): what prune --unused-since reads.
    persistStats: true,
    ...options,
  });
}

/**
 * The OpenAI provider with a fixed base URL: the endpoint is part of every cache key, so fixtures recorded on one
 * machine match on every other. `fetch` lets a test send the calls elsewhere (a local server) or forbid them.
 */
export function openaiProvider(fetch?: typeof globalThis.fetch): OpenAIProvider {
  return createOpenAI({
    baseURL: 'https://api.openai.com/v1',
    apiKey: process.env.OPENAI_API_KEY ?? 'replay-only',
    ...(fetch ? { fetch } : {}),
  });
}
