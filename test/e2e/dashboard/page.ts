import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

/** Screenshots are test artifacts: written here (gitignored) on every run. */
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/dashboard/', import.meta.url));

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Console errors and uncaught exceptions of a page, from the moment it is watched. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`exception: ${error.message}`));
  return errors;
}

/** Every `<data data-metric>` in a container: its exact value and the text shown. */
export async function shownNumbers(
  page: Page,
  selector: string,
): Promise<Record<string, { value: string; text: string }>> {
  return page.$$eval(`${selector} data[data-metric]`, (nodes) =>
    Object.fromEntries(
      nodes.map((node) => [
        node.getAttribute('data-metric'),
        { value: node.getAttribute('value') ?? '', text: node.textContent ?? '' },
      ]),
    ),
  );
}

/** The numbers of one row of a group table (by its `data-name`), keyed by metric. */
export async function rowNumbers(page: Page, table: string, name: string): Promise<Record<string, number>> {
  return page.$eval(
    `#${table} tr[data-name="${name}"]`,
    (row) =>
      Object.fromEntries(
        Array.from(row.querySelectorAll('data[data-metric]')).map((node) => [
          node.getAttribute('data-metric'),
          Number(node.getAttribute('value')),
        ]),
      ) as Record<string, number>,
  );
}

/**
 * How many pixels of each chart's canvas are drawn in a saturated color: the series (axes and grid lines are
 * gray). A chart with no data drawn has none.
 */
export async function coloredPixels(page: Page): Promise<Record<string, number>> {
  return page.$$eval('.chart', (charts) =>
    Object.fromEntries(
      charts.map((chart) => {
        const canvas = chart.querySelector('canvas');
        if (!canvas) return [chart.id, 0];
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let colored = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
          if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
        }
        return [chart.id, colored];
      }),
    ),
  );
}

/** The widest thing on the page: more than the viewport means a horizontal scroll bar. */
export function pageWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

export const digitsOf = (text: string) => Number(text.replace(/[^\d.-]/g, ''));
