// For local-tier.bench.ts: the writer process (argv: url, rounds) forks a reader process with the local tier,
// changes a key the reader holds, and times the reader's first fresh read after the writer's write returned.
// Times are process.hrtime (CLOCK_MONOTONIC, the same clock in both processes). Prints { p50, p99, n } in ms.
import { fork } from 'node:child_process';
import { createCache, type RedisStore } from '@llmemo/core';

const [url, rounds, role] = process.argv.slice(2) as [string, string, string | undefined];
const request = (text: string) => ({ kind: 'chat', provider: 'p', model: 'm', input: text });
const now = () => Number(process.hrtime.bigint()) / 1e6;
const tick = () => new Promise((resolve) => setImmediate(resolve));

if (role === 'reader') {
  const cache = createCache({ store: url, namespace: 'delay', timeoutMs: 5000, persistStats: false, local: true });
  const tier = (cache.store as RedisStore).localTier;
  process.on('message', async (message: { text: string; value: string; until: 'held' | 'fresh' }) => {
    for (;;) {
      const value = await cache.get(request(message.text));
      if (value === message.value && (message.until === 'fresh' || tier?.size)) break;
      await tick();
    }
    process.send?.({ at: now() });
  });
  process.send?.({ at: now() });
} else {
  const cache = createCache({ store: url, namespace: 'delay', timeoutMs: 5000, persistStats: false });
  const reader = fork(new URL(import.meta.url).pathname, [url, rounds, 'reader'], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const replies: ((at: number) => void)[] = [];
  reader.on('message', (message: { at: number }) => replies.shift()?.(message.at));
  const next = () => new Promise<number>((resolve) => replies.push(resolve));
  await next();
  const delays: number[] = [];
  for (let round = 0; round < Number(rounds); round++) {
    const text = `q${round}`;
    await cache.set(request(text), 'old');
    reader.send({ text, value: 'old', until: 'held' });
    await next();
    // The reader polls (served 'old' from its tier) from before the write until it reads 'new'.
    const fresh = next();
    reader.send({ text, value: 'new', until: 'fresh' });
    await cache.set(request(text), 'new');
    const acked = now();
    delays.push((await fresh) - acked);
  }
  delays.sort((a, b) => a - b);
  const at = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? Number.NaN;
  process.stdout.write(JSON.stringify({ p50: at(0.5), p99: at(0.99), n: delays.length }));
  reader.kill();
  await cache.close();
  process.exit(0);
}
