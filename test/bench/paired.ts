import type { Measurement } from './harness.js';

/**
 * A paired measurement for a shared machine. `measure` runs each case for its own ~0.7 s, so a burst from another
 * process lands on one side only, and on this 2-vCPU machine that moves a ratio of ~20 µs calls by ±40% between
 * runs. Here the two cases alternate call by call (A B B A, so neither always goes first) for `timeMs`, each call
 * timed on its own: a burst lands on both alike. Returns each side's mean, median and p99 over its calls.
 */
export async function paired(
  a: () => unknown,
  b: () => unknown,
  { timeMs = 2000, warmupMs = 200 }: { timeMs?: number; warmupMs?: number } = {},
): Promise<{ a: Measurement; b: Measurement }> {
  const times: [number[], number[]] = [[], []];
  const cases = [a, b];
  const order = [0, 1, 1, 0];
  for (const [phase, until] of [
    ['warmup', warmupMs],
    ['timed', timeMs],
  ] as const) {
    const end = performance.now() + until;
    let yielded = performance.now();
    while (performance.now() < end) {
      for (const side of order) {
        const started = performance.now();
        await cases[side]!();
        if (phase === 'timed') times[side]!.push((performance.now() - started) * 1000);
      }
      // A hit resolves in microtasks only: without a turn of the event loop now and then, timers and socket events
      // (a keep-alive connection the server closed) would wait for the end of the loop.
      if (performance.now() - yielded > 5) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
    }
  }
  return { a: summary('a', times[0]), b: summary('b', times[1]) };
}

function summary(name: string, samples: number[]): Measurement {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const meanUs = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { name, meanUs, p50Us: at(0.5), p99Us: at(0.99), samples: samples.length };
}
