import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCache, type ResponseCache } from '@llmemo/core';
import { ms, printTable, speedUp } from './table.js';

export const DEMO_DB = '.llmemo/demo.sqlite';
const SLOW_MS = 1200;

/** Stands in for any slow, billable call: an LLM request, a search API, a report query. */
async function slowForecast(city: string): Promise<{ city: string; forecast: string; computedAt: Date }> {
  await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
  return { city, forecast: 'sunny, 21 °C', computedAt: new Date() };
}

const request = { kind: 'demo', provider: 'weather-api', model: 'forecast-v1', input: 'Lisbon' };

interface Timed {
  label: string;
  hit: boolean;
  elapsed: number;
  computedAt: string;
}

const openCache = () => createCache({ store: `sqlite://${DEMO_DB}`, ttl: '1h' });

async function call(cache: ResponseCache, label: string): Promise<Timed> {
  const started = performance.now();
  const result = await cache.getOrCompute(request, () => slowForecast('Lisbon'));
  const elapsed = performance.now() - started;
  return { label, hit: result.hit, elapsed, computedAt: new Date(result.value.computedAt).toISOString() };
}

/**
 * Runs in a fresh process: its first hit pays what every process pays once, its second shows the steady state.
 * Prints the two rows as JSON for the parent.
 */
export async function afterRestart(): Promise<void> {
  const cache = openCache();
  const rows = [await call(cache, '3. new process, first hit'), await call(cache, '4. new process, next hit')];
  await cache.close();
  console.log(JSON.stringify(rows));
}

function restartedRows(): Timed[] {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL('./main.ts', import.meta.url)), '--after-restart'],
    { encoding: 'utf8' },
  );
  if (child.status !== 0) throw new Error(`the restarted process failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Timed[];
}

export async function coreSection(): Promise<void> {
  rmSync(DEMO_DB, { force: true });
  console.log('\n▶ @llmemo/core: a slow call (%d ms) cached in SQLite (%s)\n', SLOW_MS, DEMO_DB);
  const cache = openCache();
  const rows = [await call(cache, '1. first call'), await call(cache, '2. same call, same process')];
  await cache.close();
  rows.push(...restartedRows());
  const miss = rows[0]!.elapsed;
  printTable(
    ['call', 'cache', 'latency', 'speed-up', 'value computed at'],
    rows.map((row) => [
      row.label,
      row.hit ? 'hit' : 'miss',
      ms(row.elapsed),
      row.hit ? speedUp(miss, row.elapsed) : '',
      row.computedAt,
    ]),
  );
  console.log(
    [
      '',
      '  Rows 3 and 4 ran in a new process and read the entry row 1 wrote to the file: same value, same time.',
      '  Row 3 costs more than row 2 because it is the first call of its process: it waits for the SQLite file to',
      '  open (WAL mode, schema check) and runs code V8 has not compiled yet. A process pays that once; row 4, its',
      '  next hit, costs what row 2 did.',
    ].join('\n'),
  );
}
