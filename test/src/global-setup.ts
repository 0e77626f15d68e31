import type { TestProject } from 'vitest/node';
import { type RedisServer, startRedisServer } from './redis-server.js';

/**
 * Starts one real redis-server for the whole run (or uses LLMEMO_REDIS_URL). No test is skipped when Redis is
 * missing: this setup fails the run with a message saying how to fix it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: RedisServer | undefined;
  let url = process.env.LLMEMO_REDIS_URL;
  if (!url) {
    server = await startRedisServer();
    url = server.url;
  }
  project.provide('redisUrl', url);
  return async () => {
    await server?.stop();
  };
}
