import { createCache } from '@llmemo/core';
import { SnapshotCache } from '@llmemo/dashboard';

const url = process.argv[2]!;
const cache = createCache({ store: url, persistStats: false, pruneInterval: false, timeoutMs: 60000 });
await cache.store.ready();
for (let round = 0; round < 2; round++) {
  let t = performance.now();
  let n = 0;
  for await (const b of cache.store.scan('llmemo:')) n += b.length;
  console.log('raw scan', Math.round(performance.now() - t), n);
  t = performance.now();
  n = 0;
  for await (const e of cache.entries({ all: true }, { includeExpired: true })) n++;
  console.log('entries', Math.round(performance.now() - t), n);
  t = performance.now();
  const s = await new SnapshotCache(cache).get();
  console.log('snapshot', Math.round(performance.now() - t), s.rows.length);
}
await cache.close();
