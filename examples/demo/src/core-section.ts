import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCache } from '@llmemo/core';
import { ms, printTable } from './table.js';

export const DEMO_DB = '.llmemo/demo.sqlite';

/** Stands in for any slow, billable call: an LLM request, a search API, a report query. */
async function slowForecast(city: string): Promise<{ city: string; forecast: string; computedAt: Date }> {
  await new Promise((resolve) => setTimeout(resolve, 1200));
  return { city, forecast: 'sunny, 21 °C', computedAt: new Date() };
}

const request = { kind: 'demo', provider: 'weather-api', model: 'forecast-v1', input: 'Lisbon' };

async function call(label: string): Promise<string[]> {
  const cache = createCache({ store: `sqlite://${DEMO_DB}`, ttl: '1h' });
  const started = performance.now();
  const result = await cache.getOrCompute(request, () => slowForecast('Lisbon'));
  const elapsed = performance.now() - started;
  await cache.close();
  return [
    label,
    result.hit ? 'hit' : 'miss',
    ms(elapsed),
    result.value.forecast,
    `computed ${result.value.computedAt.toISOString()}`,
  ];
}

/** Prints one row from a fresh process, so the last hit provably comes from the SQLite file, not from memory. */
export async function afterRestart(): Promise<void> {
  console.log(JSON.stringify(await call('3. new process (restart)')));
}

export async function coreSection(): Promise<void> {
  rmSync(DEMO_DB, { force: true });
  console.log('\n▶ @llmemo/core: a slow call cached in SQLite (%s)\n', DEMO_DB);
  const rows = [await call('1. first call'), await call('2. same call again')];
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL('./main.ts', import.meta.url)), '--after-restart'],
    {
      encoding: 'utf8',
    },
  );
  if (child.status !== 0) throw new Error(`the restarted process failed: ${child.stderr}`);
  rows.push(JSON.parse(child.stdout.trim().split('\n').at(-1)!) as string[]);
  printTable(['call', 'cache', 'latency', 'answer', 'value'], rows);
  console.log('\n  The restarted process read the entry written by the first one: same value, same computedAt.');
}
