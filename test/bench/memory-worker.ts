// Fills a memory:// store with 100k entries under a maxBytes bound and prints what the process holds.
import { createCache } from '@llmemo/core';

const maxBytes = Number(process.argv[2]);
const entries = 100_000;
const cache = createCache({
  store: 'memory://',
  maxEntries: entries,
  maxBytes,
  persistStats: false,
  pruneInterval: false,
});
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage();
for (let i = 0; i < entries; i++) {
  await cache.set(
    { kind: 'chat', provider: 'p', model: 'm', input: `question ${i}` },
    { content: [{ type: 'text', text: `answer ${i} `.repeat(60) }], usage: { inputTokens: 12, outputTokens: 60 } },
  );
}
gc?.();
const after = process.memoryUsage();
const held = await cache.store.count?.('');
process.stdout.write(
  JSON.stringify({
    held,
    heapDelta: after.heapUsed - before.heapUsed,
    rss: after.rss,
    evictions: cache.stats().evictions,
  }),
);
process.exit(0);
