import type { TestProject } from 'vitest/node';
import { ensureChromium } from './browser.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

/**
 * Starts one real redis-server for the whole run (or uses LLMEMO_REDIS_URL), and makes sure a Chromium is there for
 * the dashboard's browser tests (installing Debian's package as root, once, before any test runs in parallel). No
 * test is skipped when either is missing: this setup fails the run with a message saying how to fix it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: RedisServer | undefined;
  let url = process.env.LLMEMO_REDIS_URL;
  if (!url) {
    server = await startRedisServer();
    url = server.url;
  }
  project.provide('redisUrl', url);
  project.provide('chromiumPath', ensureChromium());
  return async () => {
    await server?.stop();
  };
}
