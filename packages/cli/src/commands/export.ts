import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { KEY_PREFIX } from '@llmemo/core';
import { type FilterOptions, type GlobalOptions, openCache, toFilter } from '../context.js';
import { CliError } from '../errors.js';
import { plural } from '../format.js';
import { Progress } from '../progress.js';
import { EXPORT_FORMAT, EXPORT_VERSION } from './import.js';

/** Writes with backpressure: a slow disk or pipe pauses the scan instead of buffering the whole store. */
async function write(out: NodeJS.WritableStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain');
}

export async function exportCommand(
  file: string | undefined,
  options: FilterOptions,
  globals: GlobalOptions,
): Promise<void> {
  const cache = await openCache(globals);
  let out: NodeJS.WritableStream = process.stdout;
  let stream: WriteStream | undefined;
  if (file !== undefined && file !== '-') {
    stream = createWriteStream(file);
    await Promise.race([
      once(stream, 'open'),
      once(stream, 'error').then(([error]) => {
        throw new CliError(`cannot write ${file}: ${(error as Error).message}.`);
      }),
    ]);
    out = stream;
  }
  let exported = 0;
  try {
    const filter = toFilter(options);
    const everything = filter.all === true && Object.keys(filter).length === 1;
    const total = everything ? await cache.store.count(KEY_PREFIX) : undefined;
    const progress = new Progress('exporting', globals.progress ?? process.stderr.isTTY === true, total);
    await write(
      out,
      `${JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date().toISOString() })}\n`,
    );
    for await (const record of cache.exportEntries(filter)) {
      await write(out, `${JSON.stringify(record)}\n`);
      exported++;
      progress.tick();
    }
    progress.finish();
  } finally {
    await cache.close();
    if (stream) {
      stream.end();
      await once(stream, 'close');
    }
  }
  const where = stream ? ` to ${file}` : '';
  if (globals.json && stream) process.stdout.write(`${JSON.stringify({ exported })}\n`);
  else process.stderr.write(`Exported ${plural(exported, 'entry', 'entries')}${where}.\n`);
}
