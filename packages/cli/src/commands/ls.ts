import type { EntryInfo } from '@llmemo/core';
import { type FilterOptions, type GlobalOptions, openCache, toFilter } from '../context.js';
import { bytes, count, duration, shortKey, table } from '../format.js';
import { TopN } from '../top.js';

export const LS_SORTS = ['newest', 'oldest', 'largest'] as const;
export type LsSort = (typeof LS_SORTS)[number];

export interface LsOptions extends FilterOptions {
  limit: number;
  sort: LsSort;
  expired?: boolean;
}

const age = (entry: EntryInfo) => entry.createdAt.getTime();

// Ties fall back to the key, so a listing is the same from run to run whatever order the store scans in.
const ORDERS: Record<LsSort, (a: EntryInfo, b: EntryInfo) => number> = {
  newest: (a, b) => age(b) - age(a) || a.key.localeCompare(b.key),
  oldest: (a, b) => age(a) - age(b) || a.key.localeCompare(b.key),
  largest: (a, b) => b.bytes - a.bytes || age(b) - age(a) || a.key.localeCompare(b.key),
};

const SUMMARY_CHARS = 60;

/** A recorded request's input on one line, cut to fit a table column; '-' for an entry without one. */
export function requestSummary(request: unknown): string {
  if (request === undefined) return '-';
  const input = (request as { input?: unknown })?.input ?? request;
  const text = (typeof input === 'string' ? input : JSON.stringify(input)).replace(/\s+/g, ' ');
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS - 1)}…` : text;
}

/**
 * Lists the first `--limit` entries of the whole selection in `--sort` order. Entries arrive as metadata in the
 * store's scan order; a bounded heap keeps the best so far, so memory stays at `--limit` entries however large
 * the store.
 */
export async function lsCommand(options: LsOptions, globals: GlobalOptions): Promise<void> {
  const cache = await openCache(globals);
  const top = new TopN(options.limit, ORDERS[options.sort]);
  try {
    for await (const entry of cache.entries(toFilter(options), { includeExpired: options.expired === true })) {
      top.add(entry);
    }
  } finally {
    await cache.close();
  }
  const listed = top.sorted();
  if (globals.json) {
    process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
    return;
  }
  if (listed.length === 0) {
    process.stderr.write('No entries match.\n');
    return;
  }
  const now = Date.now();
  // Entries written with recordRequest keep their request: the start of what was asked, on one line.
  const requests = listed.some((entry) => entry.request !== undefined);
  const rows = listed.map((entry) => [
    duration(now - age(entry)),
    entry.expiresAt === null ? 'never' : entry.expired ? 'expired' : duration(entry.expiresAt.getTime() - now),
    bytes(entry.bytes),
    entry.namespace,
    entry.kind,
    entry.model,
    [entry.encrypted ? 'enc' : '', entry.compressed ?? ''].filter(Boolean).join(',') || '-',
    entry.hits === undefined ? '-' : count(entry.hits),
    shortKey(entry.key),
    ...(requests ? [requestSummary(entry.request)] : []),
  ]);
  const headers = ['age', 'expires', 'size', 'namespace', 'kind', 'model', 'sealed', 'hits', 'key'];
  process.stdout.write(`${table(requests ? [...headers, 'request'] : headers, rows)}\n`);
  if (top.dropped > 0) {
    process.stderr.write(`… and ${count(top.dropped)} more (raise --limit, or 0 for all).\n`);
  }
}
