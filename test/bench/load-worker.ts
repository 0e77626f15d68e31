// A load process for load.bench.ts: hammers one store with hits for a fixed time and prints hits/s.

import KeyvRedis from '@keyv/redis';
import { createCache } from '@llmemo/core';
import Keyv from 'keyv';
import { chatRequest } from './fixtures.js';

const [mode, url, seconds, concurrency] = process.argv.slice(2) as [string, string, string, string];
const request = chatRequest(2_000);
const answer = { content: [{ type: 'text', text: 'The weather in Paris is mild. '.repeat(20) }], finishReason: 'stop' };
// mode 'local': the same hits with the in-process tier (local-tier.bench.ts).
const cache = createCache({
  store: url,
  namespace: 'load',
  timeoutMs: 5000,
  persistStats: false,
  local: mode === 'local',
});
await cache.store.ready();
await cache.set(request, answer);
const key = cache.key(request);
const raw = new Keyv(new KeyvRedis(url));
raw.on('error', () => {});
await raw.set(`raw:${key}`, await cache.store.get(key));

const run =
  mode === 'llmemo' || mode === 'local'
    ? () => cache.getOrCompute(request, () => Promise.reject(new Error('a hit must not compute')))
    : () => raw.get(`raw:${key}`);
let done = 0;
const deadline = Date.now() + Number(seconds) * 1000;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (Date.now() < deadline) {
      await run();
      done++;
    }
  }),
);
process.stdout.write(JSON.stringify({ perSecond: done / Number(seconds) }));
await cache.close();
await raw.disconnect();
process.exit(0);
