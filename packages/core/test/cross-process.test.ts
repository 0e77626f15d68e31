import { redisUrl, uniqueNamespace } from '@llmemo/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type ResponseCache } from '../src/index.js';

// Two cache instances have separate in-process flight maps and separate Redis connections: to each other they are
// two processes. Only the Redis lock can coalesce them.
const caches: ResponseCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

const request = { kind: 'chat', provider: 'p', model: 'm', input: 'shared question' };

function pair(crossProcessCoalescing: Parameters<typeof createCache>[0]['crossProcessCoalescing']) {
  const namespace = uniqueNamespace('xproc');
  const made = [1, 2].map(() => createCache({ store: redisUrl(), namespace, timeoutMs: 2000, crossProcessCoalescing }));
  caches.push(...made);
  return made as [ResponseCache, ResponseCache];
}

describe('cross-process coalescing on Redis', () => {
  it('identical misses in two "processes" make one provider call; the waiter reads the entry', async () => {
    const [a, b] = pair({ poll: '10ms' });
    let calls = 0;
    const compute = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 150));
      return { answer: 42 };
    };
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => a.getOrCompute(request, compute)),
      ...Array.from({ length: 10 }, () => b.getOrCompute(request, compute)),
    ]);
    expect(calls).toBe(1);
    for (const result of results) expect(result.value).toEqual({ answer: 42 });
    // The other process got it from the store: a hit, not a provider call.
    expect(results.filter((r) => r.hit).length).toBeGreaterThanOrEqual(10);
  });

  it('without it, the two processes each call the provider', async () => {
    const [a, b] = pair(false);
    let calls = 0;
    const compute = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return 1;
    };
    await Promise.all([a.getOrCompute(request, compute), b.getOrCompute(request, compute)]);
    expect(calls).toBe(2);
  });

  it('a waiter gives up after `wait` and calls the provider itself when the lock holder never writes', async () => {
    const [a, b] = pair({ wait: '200ms', poll: '20ms' });
    let release!: () => void;
    const stuck = a.getOrCompute(request, () => new Promise<number>((resolve) => (release = () => resolve(1))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    expect((await b.getOrCompute(request, async () => 2)).value).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    release();
    expect((await stuck).value).toBe(1);
  });

  it('is refused for stores other than Redis', () => {
    expect(() => createCache({ crossProcessCoalescing: true })).toThrowError(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('redis://') }),
    );
  });
});
