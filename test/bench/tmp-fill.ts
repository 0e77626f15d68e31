import { createCache, summarizeEntries } from '@llmemo/core';
const [url, countText] = process.argv.slice(2) as [string, string];
const count = Number(countText);
const cache = createCache({ store: url, namespace: 'big', persistStats: false, timeoutMs: 60000 });
const body = { text: 'x'.repeat(800) };
let t = performance.now();
const batch: Promise<unknown>[] = [];
for (let i = 0; i < count; i++) {
  batch.push(cache.set({ kind: 'chat', provider: 'p', model: `m${i % 5}`, input: `q ${i}` }, body, { metadata: { usage: { inputTokens: 1, outputTokens: 2 } } }));
  if (batch.length >= 1000) { await Promise.all(batch); batch.length = 0; }
}
await Promise.all(batch);
console.log('fill', Math.round(performance.now() - t));
t = performance.now();
const s = await summarizeEntries(cache.entries({ all: true }, { includeExpired: true }));
console.log('summary', Math.round(performance.now() - t), s.entries);
await cache.close();
