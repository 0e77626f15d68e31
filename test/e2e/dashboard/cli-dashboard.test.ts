import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '@llmemo/test-support';
import { launchBrowser, type TestBrowser } from '@llmemo/test-support/browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Overview } from '../../../packages/dashboard/src/index.js';
import { fillStore, PRICES, type Traffic } from '../../../packages/dashboard/test/fixtures/traffic.js';
import { artifact, coloredPixels, digitsOf, pageWidth, rowNumbers, shownNumbers, watchErrors } from './page.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LLMEMO_')));

/** `llmemo dashboard --port 0` as a user runs it; resolves with the URL it prints. */
function startDashboard(store: string, prices: string): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [bin, '--store', store, '--json', 'dashboard', '--port', '0', '--prices', prices],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve({ url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => reject(new Error(`llmemo dashboard exited with ${code}: ${stderr}`)));
  });
}

describe('llmemo dashboard, in Chromium, over a store filled by a scripted run', () => {
  let store: string;
  let prices: string;
  let traffic: Traffic;
  let server: { url: string; child: ChildProcess };
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];

  const api = async (range: string): Promise<Overview> =>
    (await (await fetch(new URL(`api/overview?range=${range}`, server.url))).json()) as Overview;

  beforeAll(async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`pnpm build\` first (pnpm test does).`);
    store = `sqlite://${join(tempDir(), 'dashboard.sqlite')}`;
    prices = join(tempDir(), 'prices.json');
    writeFileSync(prices, JSON.stringify(PRICES));
    traffic = await fillStore(store);
    server = await startDashboard(store, prices);
    browser = await launchBrowser(inject('chromiumPath'));
    page = await browser.context.newPage();
    errors = watchErrors(page);
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]');
  });
  afterAll(async () => {
    await browser?.close();
    server?.child.kill('SIGINT');
  });

  it('prints its URL on 127.0.0.1 and answers the API with the scripted counts', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const overview = await api('24h');
    expect(overview.totals).toMatchObject({
      hits: traffic.hits,
      staleHits: traffic.staleHits,
      misses: traffic.misses,
      bypasses: traffic.bypasses,
      writes: traffic.writes,
      inputTokensSaved: traffic.inputTokensSaved,
      outputTokensSaved: traffic.outputTokensSaved,
      timeSavedMs: traffic.timeSavedMs,
      requests: traffic.hits + traffic.misses + traffic.bypasses,
    });
    expect(overview.entries!.entries).toBe(traffic.entries);
    expect(Object.fromEntries(overview.namespaces.map((g) => [g.name, g.entries]))).toEqual(traffic.namespaces);
    expect(Object.fromEntries(overview.models.map((g) => [g.name, g.entries]))).toEqual(traffic.models);
    expect(Object.fromEntries(overview.kinds.map((g) => [g.name, g.entries]))).toEqual(traffic.kinds);
    expect(overview.live).toBeNull();
  });

  it('says what to do when the port is taken, and refuses memory://', async () => {
    const port = new URL(server.url).port;
    const taken = await run(process.execPath, [bin, '--store', store, 'dashboard', '--port', port], { env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(taken).toMatchObject({ code: 1 });
    expect((taken as { stderr: string }).stderr).toMatch(
      /port \d+ on 127\.0\.0\.1 is in use: pass another with --port/,
    );
    const memory = await run(process.execPath, [bin, '--store', 'memory://', 'dashboard'], { env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(memory).toMatchObject({ code: 2 });
    expect((memory as { stderr: string }).stderr).toContain("use the app's sqlite:// or redis:// store");
  });

  it('agrees with `llmemo stats --json` for the same store and range', async () => {
    for (const range of ['24h', '7d'] as const) {
      const { stdout } = await run(
        process.execPath,
        [bin, '--store', store, '--json', 'stats', '--range', range, '--prices', prices],
        { env },
      );
      const report = JSON.parse(stdout);
      const overview = await api(range);
      const { requests: _requests, ...totals } = overview.totals;
      expect(report.counters).toEqual(totals);
      expect(report).toMatchObject({ range, entries: overview.entries!.entries, bytes: overview.entries!.bytes });
      // The same entries, scanned a moment apart: every age differs by that same moment.
      const shift = report.age.newest - overview.entries!.ageQuantiles!.newest;
      expect(shift).toBeGreaterThanOrEqual(0);
      expect(shift).toBeLessThan(60_000);
      for (const q of ['median', 'p90', 'oldest'] as const) {
        expect(report.age[q] - overview.entries!.ageQuantiles![q], q).toBe(shift);
      }
      for (const group of overview.namespaces) {
        expect(report.namespaces[group.name]).toMatchObject({
          entries: group.entries,
          bytes: group.bytes,
          hits: group.hits,
          misses: group.misses,
        });
      }
      for (const group of overview.models) {
        expect(report.models[group.name]).toMatchObject({ entries: group.entries, hits: group.hits });
      }
    }
  });

  it('shows every number as the API has it, with no console error', async () => {
    const overview = await api('24h');
    const shown = await shownNumbers(page, '#kpis');
    const totals = overview.totals as unknown as Record<string, number>;
    for (const metric of ['hits', 'staleHits', 'misses', 'bypasses', 'requests', 'writes', 'evictions', 'errors']) {
      expect(Number(shown[metric]?.value), metric).toBe(totals[metric]);
      expect(digitsOf(shown[metric]!.text), metric).toBe(totals[metric]);
    }
    for (const metric of ['inputTokensSaved', 'outputTokensSaved', 'timeSavedMs']) {
      expect(Number(shown[metric]?.value), metric).toBe(totals[metric]);
    }
    expect(digitsOf(shown.inputTokensSaved!.text)).toBe(traffic.inputTokensSaved);
    expect(Number(shown.hitRate?.value)).toBe(overview.totals.hitRate);
    expect(shown.hitRate?.text).toBe(`${(overview.totals.hitRate * 100).toFixed(1)}%`);
    expect(Number(shown.moneySaved?.value)).toBe(overview.totals.moneySaved);
    expect(shown.timeSavedMs?.text).toBe('7.0 s');
    expect(Number(shown.entries?.value)).toBe(traffic.entries);
    expect(Number(shown.bytes?.value)).toBe(overview.entries!.bytes);
    for (const [table, groups] of [
      ['namespaces', overview.namespaces],
      ['models', overview.models],
    ] as const) {
      for (const group of groups) {
        const row = await rowNumbers(page, table, group.name);
        expect(row).toMatchObject({
          entries: group.entries,
          bytes: group.bytes,
          hits: group.hits,
          misses: group.misses,
        });
      }
    }
    // Per-entry hits: the page's top list shows the API's counts, the most-hit first.
    expect(overview.top?.map((item) => item.hits)).toEqual([3, 3, 3, 3, 3, 3, 1, 1, 1, 1]);
    expect(await page.isVisible('#top-panel')).toBe(true);
    const topHits = await page.$$eval('#top data[data-metric=hits]', (nodes) =>
      nodes.map((node) => Number(node.getAttribute('value'))),
    );
    expect(topHits).toEqual(overview.top?.map((item) => item.hits));
    expect(errors).toEqual([]);
  });

  it('draws every chart, each labelled for screen readers', async () => {
    const pixels = await coloredPixels(page);
    expect(Object.keys(pixels).sort()).toEqual(['age-chart', 'hitrate-chart', 'requests-chart', 'ttl-chart']);
    for (const [chart, colored] of Object.entries(pixels)) expect(colored, chart).toBeGreaterThan(10);
    const labels = await page.$$eval('.chart', (charts) => charts.map((chart) => chart.getAttribute('aria-label')));
    for (const label of labels) expect(label).toMatch(/\d/);
    expect(await page.getAttribute('#requests-chart', 'aria-label')).toContain(`${traffic.misses} misses`);
    await page.screenshot({ path: artifact('cli-24h.png'), fullPage: true });
  });

  it('switches the range: 7 days add the traffic of three days ago', async () => {
    await page.getByRole('radio', { name: '7 d' }).check();
    await page.waitForFunction(() => document.getElementById('range-label')?.textContent === 'last 7 days');
    await page.waitForFunction(
      (hits) => document.querySelector('#kpis data[data-metric=hits]')?.getAttribute('value') === String(hits),
      traffic.hits + traffic.history.hits,
    );
    const week = await api('7d');
    const shown = await shownNumbers(page, '#kpis');
    expect(Number(shown.hits?.value)).toBe(week.totals.hits);
    expect(Number(shown.misses?.value)).toBe(traffic.misses + traffic.history.misses);
    expect(await page.getAttribute('#requests-chart', 'aria-label')).toContain('one bar per hour');
    expect((await coloredPixels(page))['requests-chart']).toBeGreaterThan(10);
    expect(page.url()).toContain('#range=7d');
    await page.screenshot({ path: artifact('cli-7d.png'), fullPage: true });
    // The README's picture (packages/dashboard/docs/dashboard.png is a copy of it): the first screen.
    await page.screenshot({ path: artifact('readme.png') });
    expect(errors).toEqual([]);
  });

  it('pages through the entries, sorted as asked, without prompt text', async () => {
    await page.selectOption('#entry-sort', 'oldest');
    // The back-dated entries come first: 40, 10 and 2 days old.
    await expect.poll(() => page.textContent('#entries tbody tr:first-child td:nth-child(5)')).toBe('40.0 d');
    expect(await page.textContent('#entries tbody tr:nth-child(2) td:nth-child(5)')).toBe('10.0 d');
    expect(await page.textContent('#entries-position')).toBe(`1–${traffic.entries} of ${traffic.entries}`);
    expect(await page.isDisabled('#entries-next')).toBe(true);
    await page.selectOption('#entry-sort', 'slowest');
    await expect.poll(() => page.textContent('#entries tbody tr:first-child td:nth-child(8)')).toBe('1.5 s');
    expect(await page.textContent('#entries')).not.toMatch(/question|answer/);
  });

  it('reads at 375 px wide and in dark mode', async () => {
    const narrow = await browser.context.newPage();
    const narrowErrors = watchErrors(narrow);
    await narrow.setViewportSize({ width: 375, height: 800 });
    await narrow.emulateMedia({ colorScheme: 'dark' });
    await narrow.goto(server.url);
    await narrow.waitForSelector('body[data-ready=true]');
    expect(await pageWidth(narrow)).toBeLessThanOrEqual(375);
    const background = await narrow.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(15, 19, 26)');
    for (const [chart, colored] of Object.entries(await coloredPixels(narrow)))
      expect(colored, chart).toBeGreaterThan(10);
    await narrow.screenshot({ path: artifact('cli-375-dark.png'), fullPage: true });
    expect(narrowErrors).toEqual([]);
    await narrow.close();
  });
});
