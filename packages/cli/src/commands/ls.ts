import type { EntryInfo } from '@llmemo/core';
import { type FilterOptions, type GlobalOptions, openCache, toFilter } from '../context.js';
import { bytes, duration, table } from '../format.js';

export interface LsOptions extends FilterOptions {
  limit: number;
  expired?: boolean;
}

export async function lsCommand(options: LsOptions, globals: GlobalOptions): Promise<void> {
  const cache = await openCache(globals);
  const listed: EntryInfo[] = [];
  let more = 0;
  try {
    for await (const entry of cache.entries(toFilter(options), { includeExpired: options.expired === true })) {
      if (options.limit === 0 || listed.length < options.limit) listed.push(entry);
      else more++;
    }
  } finally {
    await cache.close();
  }
  listed.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  if (globals.json) {
    process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
    return;
  }
  if (listed.length === 0) {
    process.stderr.write('No entries match.\n');
    return;
  }
  const now = Date.now();
  const rows = listed.map((entry) => [
    duration(now - entry.createdAt.getTime()),
    entry.expiresAt === null ? 'never' : entry.expired ? 'expired' : duration(entry.expiresAt.getTime() - now),
    bytes(entry.bytes),
    entry.namespace,
    entry.kind,
    entry.model,
    [entry.encrypted ? 'enc' : '', entry.compressed ?? ''].filter(Boolean).join(',') || '-',
    entry.key,
  ]);
  process.stdout.write(`${table(['age', 'expires', 'size', 'namespace', 'kind', 'model', 'sealed', 'key'], rows)}\n`);
  if (more > 0) process.stderr.write(`… and ${more} more (raise --limit, or 0 for all).\n`);
}
