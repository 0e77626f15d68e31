// Copies the chart library from node_modules into public/vendor at build time, so the published package serves it
// itself: the dashboard works offline, with no CDN and no bundler at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const uplot = dirname(require.resolve('uplot/package.json'));
const vendor = join(root, 'public', 'vendor');
mkdirSync(vendor, { recursive: true });
for (const [from, to] of [
  ['dist/uPlot.iife.min.js', 'uPlot.iife.min.js'],
  ['dist/uPlot.min.css', 'uPlot.min.css'],
  ['LICENSE', 'uPlot.LICENSE'],
]) {
  copyFileSync(join(uplot, from), join(vendor, to));
}
