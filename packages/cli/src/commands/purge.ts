import { createInterface } from 'node:readline';
import { type FilterOptions, type GlobalOptions, openCache, toFilter } from '../context.js';
import { CliError } from '../errors.js';
import { plural } from '../format.js';

export interface PurgeOptions extends FilterOptions {
  dryRun?: boolean;
  yes?: boolean;
}

const FILTER_FLAGS = ['namespace', 'kind', 'provider', 'model', 'olderThan', 'responseModel'] as const;

function describe(options: PurgeOptions): string {
  const parts = FILTER_FLAGS.filter((flag) => options[flag] !== undefined).map(
    (flag) => `${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=${options[flag]}`,
  );
  return parts.length === 0 ? 'every llmemo entry in the store' : parts.join(', ');
}

/** Reads one answer from stdin (a terminal or a pipe); end of input counts as "no". */
function ask(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
    let answered = false;
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
    rl.on('close', () => {
      if (!answered) resolve(false);
    });
  });
}

export async function purgeCommand(options: PurgeOptions, globals: GlobalOptions): Promise<void> {
  if (!options.all && FILTER_FLAGS.every((flag) => options[flag] === undefined)) {
    throw new CliError(
      'purge needs a filter (--namespace, --model, --older-than, …) or --all to delete every entry.',
      2,
    );
  }
  if (options.all && options.namespace !== undefined) {
    throw new CliError('use --namespace or --all, not both.', 2);
  }
  const cache = await openCache(globals);
  try {
    const filter = toFilter(options);
    const keys: string[] = [];
    for await (const entry of cache.entries(filter, { includeExpired: true })) keys.push(entry.key);
    if (options.dryRun) {
      if (globals.json) {
        process.stdout.write(`${JSON.stringify({ dryRun: true, matched: keys.length, keys }, null, 2)}\n`);
      } else {
        for (const key of keys) process.stdout.write(`${key}\n`);
        process.stderr.write(
          `Would delete ${plural(keys.length, 'entry', 'entries')} (${describe(options)}). Nothing was deleted.\n`,
        );
      }
      return;
    }
    // A whole-namespace (or --all) purge still runs with no entries: it also removes the stored counters.
    const wholeScope = ['kind', 'provider', 'model', 'olderThan', 'responseModel'].every(
      (flag) => options[flag as keyof PurgeOptions] === undefined,
    );
    if (keys.length === 0 && !wholeScope) {
      process.stderr.write('No entries match; nothing to delete.\n');
      if (globals.json) process.stdout.write(`${JSON.stringify({ deleted: 0 })}\n`);
      return;
    }
    if (!options.yes) {
      const confirmed = await ask(`Delete ${plural(keys.length, 'entry', 'entries')} (${describe(options)})? [y/N] `);
      if (!confirmed) throw new CliError('aborted: nothing was deleted (pass --yes to skip this question).');
    }
    const deleted = await cache.purge(filter);
    if (globals.json) process.stdout.write(`${JSON.stringify({ deleted })}\n`);
    else process.stderr.write(`Deleted ${plural(deleted, 'entry', 'entries')}.\n`);
  } finally {
    await cache.close();
  }
}
