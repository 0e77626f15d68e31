import { Bench } from 'tinybench';

/** One measured case: mean, median and p99 latency in microseconds. */
export interface Measurement {
  name: string;
  meanUs: number;
  /** The median: on a shared machine, what one call costs when no other process gets in the way. */
  p50Us?: number;
  p99Us: number;
  samples: number;
}

export interface Row {
  scenario: string;
  measured: Measurement;
  baseline?: Measurement;
  target?: string;
  /** Issue 14's "today" figure for this row (the ratio or time measured before that issue's work), printed beside ours. */
  today?: string;
}

/** Runs each function for about `timeMs` and returns its latency statistics. Async functions are awaited. */
export async function measure(
  cases: Record<string, () => unknown>,
  { timeMs = 700, warmupMs = 150 }: { timeMs?: number; warmupMs?: number } = {},
): Promise<Record<string, Measurement>> {
  const bench = new Bench({ time: timeMs, warmupTime: warmupMs });
  for (const [name, fn] of Object.entries(cases)) bench.add(name, fn);
  await bench.run();
  const out: Record<string, Measurement> = {};
  for (const task of bench.tasks) {
    const result = task.result as unknown as {
      state?: string;
      error?: unknown;
      latency?: { mean: number; p50: number; p99: number; samplesCount?: number };
    };
    if (!result?.latency)
      throw new Error(`bench case '${task.name}' failed: ${String(result?.error ?? result?.state)}`);
    out[task.name] = {
      name: task.name,
      meanUs: result.latency.mean * 1000,
      p50Us: result.latency.p50 * 1000,
      p99Us: result.latency.p99 * 1000,
      samples: result.latency.samplesCount ?? 0,
    };
  }
  return out;
}

export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return '—';
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  return `${us.toFixed(2)} µs`;
}

/**
 * What llmemo adds to `plain`: the difference of the means (a p99 of a difference is not meaningful, so none).
 * For the "added latency" rows, where llmemo wraps the very call it is compared with.
 */
export function added(name: string, withCache: Measurement, plain: Measurement): Measurement {
  const p50Us = withCache.p50Us !== undefined && plain.p50Us !== undefined ? withCache.p50Us - plain.p50Us : undefined;
  return { name, meanUs: withCache.meanUs - plain.meanUs, p50Us, p99Us: Number.NaN, samples: withCache.samples };
}

/** Keeps, per case, the fastest of `rounds` interleaved measurements: the one least disturbed by other processes. */
export async function bestOf(
  rounds: number,
  cases: Record<string, () => unknown>,
  options?: { timeMs?: number; warmupMs?: number },
): Promise<Record<string, Measurement>> {
  const best: Record<string, Measurement> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, result] of Object.entries(await measure(cases, options))) {
      const known = best[name];
      if (!known || result.meanUs < known.meanUs) best[name] = result;
    }
  }
  return best;
}

/**
 * A markdown table: scenario, ours, baseline, ratio, target, and issue 14's "today" column when a row has one.
 * Returned so run.ts can print and save it.
 */
export function table(title: string, rows: Row[]): string {
  const today = rows.some((row) => row.today !== undefined);
  const lines = [
    `### ${title}`,
    '',
    `| scenario | llmemo (mean / p50 / p99) | baseline (mean / p50 / p99) | ratio of means (of medians) | target |${today ? ' today (issue 14) |' : ''}`,
    `|---|---|---|---|---|${today ? '---|' : ''}`,
  ];
  const stats = (m: Measurement) => `${formatUs(m.meanUs)} / ${formatUs(m.p50Us ?? Number.NaN)} / ${formatUs(m.p99Us)}`;
  for (const row of rows) {
    const { measured, baseline } = row;
    const ours = stats(measured);
    const base = baseline ? stats(baseline) : '—';
    const medians =
      baseline?.p50Us !== undefined && measured.p50Us !== undefined
        ? ` (${(measured.p50Us / baseline.p50Us).toFixed(2)}×)`
        : '';
    const ratio = baseline ? `${(measured.meanUs / baseline.meanUs).toFixed(2)}×${medians}` : '—';
    const cells = [row.scenario, ours, base, ratio, row.target ?? ''];
    if (today) cells.push(row.today ?? '');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

export interface Suite {
  name: string;
  run(): Promise<string>;
}
