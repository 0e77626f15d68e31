import { readFileSync } from 'node:fs';
import {
  type CounterRow,
  type PriceTable,
  resolvePrices,
  resolveRange,
  STORE_WIDE,
  type StatsRange,
  summarizeEntries,
  totalCounters,
} from '@llmemo/core';
import { type GlobalOptions, openCache } from '../context.js';
import { CliError } from '../errors.js';
import { bytes, count, duration, money, percent, plural, table } from '../format.js';

export interface StatsOptions {
  namespace?: string;
  prices?: string;
  range?: string;
}

interface Group {
  entries: number;
  bytes: number;
}

/** What `llmemo stats --json` prints. */
export interface StatsReport {
  store: string;
  entries: number;
  bytes: number;
  expired: number;
  encrypted: number;
  compressed: number;
  age: { newest: number; median: number; p90: number; oldest: number } | null;
  namespaces: Record<string, Group & Partial<ReturnType<typeof totalCounters>>>;
  models: Record<string, Group & Partial<ReturnType<typeof totalCounters>>>;
  kinds: Record<string, Group>;
  /** With --range: the counters are those of this range only (the dashboard's numbers for the same range). */
  range?: StatsRange;
  counters: ReturnType<typeof totalCounters>;
}

export function loadPrices(file: string | undefined): PriceTable | undefined {
  if (file === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read --prices ${file}: ${(error as Error).message}.`, 2);
  }
  try {
    return resolvePrices(parsed, '--prices');
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
}

function parseRange(value: string | undefined): StatsRange | undefined {
  if (value === undefined) return undefined;
  try {
    return resolveRange(value, '--range');
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
}

export async function statsCommand(options: StatsOptions, globals: GlobalOptions): Promise<void> {
  const prices = loadPrices(options.prices);
  const range = parseRange(options.range);
  const cache = await openCache(globals);
  try {
    const scope = options.namespace === undefined ? { all: true } : { namespace: options.namespace };
    const summary = await summarizeEntries(cache.entries(scope, { includeExpired: true }));
    const report: StatsReport = {
      store: cache.store.type,
      entries: summary.entries,
      bytes: summary.bytes,
      expired: summary.expired,
      encrypted: summary.encrypted,
      compressed: summary.compressed,
      age: summary.ageQuantiles,
      namespaces: { ...summary.byNamespace },
      models: { ...summary.byModel },
      kinds: summary.byKind,
      counters: totalCounters([], prices),
    };
    if (range) report.range = range;
    const { rows } = await cache.storedStats(range ? { ...scope, range } : scope);
    report.counters = totalCounters(rows, prices);
    const byKey = (key: 'namespace' | 'model') => {
      const groups = new Map<string, CounterRow[]>();
      for (const row of rows) {
        // Evictions and errors of no entry belong to no namespace or model: they are in the totals only.
        if (row.namespace === STORE_WIDE) continue;
        groups.set(row[key], [...(groups.get(row[key]) ?? []), row]);
      }
      return groups;
    };
    for (const [key, target] of [
      ['namespace', report.namespaces],
      ['model', report.models],
    ] as const) {
      for (const [name, group] of byKey(key)) {
        target[name] = { ...(target[name] ?? { entries: 0, bytes: 0 }), ...totalCounters(group, prices) };
      }
    }

    if (globals.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    process.stdout.write(render(report, prices !== undefined));
  } finally {
    await cache.close();
  }
}

function render(report: StatsReport, priced: boolean): string {
  const c = report.counters;
  const lines = [
    `Entries   ${count(report.entries)} (${bytes(report.bytes)})${report.expired ? `, ${count(report.expired)} expired: run \`llmemo prune\`` : ''}`,
  ];
  if (report.encrypted || report.compressed) {
    lines.push(`Sealed    ${count(report.encrypted)} encrypted, ${count(report.compressed)} compressed`);
  }
  if (report.age) {
    const a = report.age;
    lines.push(
      `Age       newest ${duration(a.newest)}, median ${duration(a.median)}, p90 ${duration(a.p90)}, oldest ${duration(a.oldest)}`,
    );
  }
  const lookups = c.hits + c.misses;
  const when = report.range ? ` in the last ${report.range}` : '';
  if (lookups > 0) {
    const stale = c.staleHits ? ` (${count(c.staleHits)} stale)` : '';
    const bypasses = c.bypasses ? `, ${plural(c.bypasses, 'bypass', 'bypasses')}` : '';
    const time = c.timeSavedMs ? `, and ${duration(c.timeSavedMs)} of waiting` : '';
    lines.push(
      `Hit rate  ${percent(c.hitRate)} (${plural(c.hits, 'hit', 'hits')}${stale}, ${plural(c.misses, 'miss', 'misses')}${bypasses}${when}, as recorded by the apps)`,
      `Saved     ${count(c.inputTokensSaved)} input + ${count(c.outputTokensSaved)} output tokens${priced && c.moneySaved !== undefined ? `, worth ${money(c.moneySaved)}` : ''}${time}`,
    );
  } else {
    lines.push(`Hit rate  no counters recorded${when || ' yet'} (apps record them with persistStats, on by default)`);
  }
  const groupTable = (title: string, groups: StatsReport['namespaces']) => {
    const names = Object.keys(groups).sort((a, b) => groups[b]!.entries - groups[a]!.entries || a.localeCompare(b));
    if (names.length === 0) return;
    const header = [title, 'entries', 'size', 'hits', 'misses', 'hit rate', 'tokens saved'];
    if (priced) header.push('money saved');
    const rows = names.map((name) => {
      const g = groups[name]!;
      const hits = g.hits ?? 0;
      const misses = g.misses ?? 0;
      const row = [
        name,
        count(g.entries),
        bytes(g.bytes),
        count(hits),
        count(misses),
        hits + misses > 0 ? percent(hits / (hits + misses)) : '—',
        count((g.inputTokensSaved ?? 0) + (g.outputTokensSaved ?? 0)),
      ];
      if (priced) row.push(g.moneySaved === undefined ? '—' : money(g.moneySaved));
      return row;
    });
    lines.push('', table(header, rows));
  };
  groupTable('namespace', report.namespaces);
  groupTable('model', report.models);
  return `${lines.join('\n')}\n`;
}
