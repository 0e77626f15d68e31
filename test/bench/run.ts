// `pnpm bench [suite…]`: runs the benchmark suites (every `*.bench.ts` here exporting `suite`) in one process on
// this machine and prints markdown tables of ratios against the baselines named in the issues.
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Suite } from './harness.js';

const files = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.bench.ts'))
  .sort();
const suites: Suite[] = [];
for (const file of files) {
  const module = (await import(`./${file}`)) as { suite?: Suite };
  if (module.suite) suites.push(module.suite);
}

const wanted = process.argv.slice(2).filter((arg) => arg !== '--');
const selected = wanted.length ? suites.filter((suite) => wanted.includes(suite.name)) : suites;
if (selected.length === 0) {
  process.stderr.write(
    `No suite named ${wanted.join(', ')}; the suites are ${suites.map((s) => s.name).join(', ')}.\n`,
  );
  process.exit(1);
}

const cpu = cpus();
process.stdout.write(
  `# llmemo benchmarks\n\nNode ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}\n\n`,
);
for (const suite of selected) {
  process.stderr.write(`running ${suite.name}…\n`);
  process.stdout.write(`${await suite.run()}\n`);
}
process.exit(0);
