import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ExportRecord } from '@llmemo/core';
import { type GlobalOptions, openCache } from '../context.js';
import { CliError } from '../errors.js';
import { count, plural } from '../format.js';
import { Progress } from '../progress.js';

export const EXPORT_FORMAT = 'llmemo-export';
export const EXPORT_VERSION = 1;

/** JSON lines: a header `{ format, version, exportedAt }`, then one `{ key, value, expiresAt }` per entry. */
async function* readRecords(
  lines: AsyncIterable<string>,
  source: string,
  onLine: (length: number) => void,
): AsyncIterable<ExportRecord> {
  let header = true;
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    onLine(Buffer.byteLength(line) + 1);
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new CliError(`${source} line ${lineNumber} is not JSON: is this a file written by \`llmemo export\`?`);
    }
    if (header) {
      const { format, version } = (parsed ?? {}) as { format?: unknown; version?: unknown };
      if (format !== EXPORT_FORMAT) {
        throw new CliError(`${source} is not an llmemo export (its first line should be the export header).`);
      }
      if (version !== EXPORT_VERSION) {
        throw new CliError(
          `${source} is export version ${String(version)}; this llmemo reads version ${EXPORT_VERSION}.`,
        );
      }
      header = false;
      continue;
    }
    yield parsed as ExportRecord;
  }
  if (header) throw new CliError(`${source} is empty: nothing to import.`);
}

export async function importCommand(file: string | undefined, globals: GlobalOptions): Promise<void> {
  const fromStdin = file === undefined || file === '-';
  let size: number | undefined;
  if (!fromStdin) {
    try {
      size = statSync(file).size;
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as Error).message}.`);
    }
  }
  const cache = await openCache(globals, { create: true });
  const input = fromStdin ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const progress = new Progress('importing', globals.progress ?? process.stderr.isTTY === true, size, 'bytes');
  let result: Awaited<ReturnType<typeof cache.importEntries>>;
  try {
    result = await cache.importEntries(readRecords(lines, fromStdin ? 'stdin' : file, (n) => progress.tick(n)));
    progress.finish();
  } finally {
    lines.close();
    await cache.close();
  }
  if (globals.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const skipped = [
    result.expired ? `${count(result.expired)} already expired` : '',
    result.invalid ? plural(result.invalid, 'not an llmemo entry', 'not llmemo entries') : '',
  ].filter(Boolean);
  process.stderr.write(
    `Imported ${plural(result.imported, 'entry', 'entries')}${skipped.length ? ` (skipped ${skipped.join(', ')})` : ''}.\n`,
  );
}
