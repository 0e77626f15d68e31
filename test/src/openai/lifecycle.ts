import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createOpenAITestServer } from './server.js';
import type { OpenAITestServer, OpenAITestServerOptions } from './types.js';

/**
 * One test server per test file: started before the file's tests, reset (request log, scripts, faults) before each
 * test, closed after the file. The returned object stands for the server (it forwards to the live instance), so a
 * test writes `server.count(…)` as if it held the server itself.
 */
export function useOpenAITestServer(options?: OpenAITestServerOptions): OpenAITestServer {
  let live: OpenAITestServer | undefined;
  beforeAll(async () => {
    live = await createOpenAITestServer(options);
  });
  beforeEach(() => live?.reset());
  afterAll(async () => {
    await live?.close();
  });
  return new Proxy({} as OpenAITestServer, {
    get(_target, property) {
      if (!live) throw new Error('The test server starts in beforeAll: use it inside hooks and tests.');
      const value = Reflect.get(live, property, live);
      return typeof value === 'function' ? value.bind(live) : value;
    },
  });
}
