import { readFileSync } from 'node:fs';
import { type CounterRow, type EntryInfo, type PriceTable, resolvePrices, totalCounters } from '@llmemo/core';
import { type GlobalOptions, openCache } from '../context.js';
import { CliError } from '../errors.js';
import { bytes, count, duration, money, percent, plural, table } from '../format.js';

export interface StatsOptions {
  namespace?: string;
  prices?: string;
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
  counters: ReturnType<typeof totalCounters>;
}

function loadPrices(file: string | undefined): PriceTable | undefined {
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

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function statsCommand(options: StatsOptions, globals: GlobalOptions): Promise<void> {
  const prices = loadPrices(options.prices);
  const cache = await openCache(globals);
  try {
    const scope = options.namespace === undefined ? { all: true } : { namespace: options.namespace };
    const now = Date.now();
    const ages: number[] = [];
    const report: StatsReport = {
      store: cache.store.type,
      entries: 0,
      bytes: 0,
      expired: 0,
      encrypted: 0,
      compressed: 0,
      age: null,
      namespaces: {},
      models: {},
      counters: totalCounters([], prices),
    };
    const add = (groups: Record<string, Group>, name: string, entry: EntryInfo) => {
      groups[name] ??= { entries: 0, bytes: 0 };
      const group = groups[name];
      group.entries++;
      group.bytes += entry.bytes;
    };
    for await (const entry of cache.entries(scope, { includeExpired: true })) {
      report.entries++;
      report.bytes += entry.bytes;
      if (entry.expired) report.expired++;
      if (entry.encrypted) report.encrypted++;
      if (entry.compressed) report.compressed++;
      ages.push(now - entry.createdAt.getTime());
      add(report.namespaces, entry.namespace, entry);
      add(report.models, entry.model, entry);
    }
    ages.sort((a, b) => a - b);
    if (ages.length > 0) {
      report.age = {
        newest: ages[0]!,
        median: quantile(ages, 0.5),
        p90: quantile(ages, 0.9),
        oldest: ages[ages.length - 1]!,
      };
    }
    const { rows } = await cache.storedStats(scope);
    report.counters = totalCounters(rows, prices);
    const byKey = (key: 'namespace' | 'model') => {
      const groups = new Map<string, CounterRow[]>();
      for (const row of rows) groups.set(row[key], [...(groups.get(row[key]) ?? []), row]);
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
  if (lookups > 0) {
    lines.push(
      `Hit rate  ${percent(c.hitRate)} (${plural(c.hits, 'hit', 'hits')}, ${plural(c.misses, 'miss', 'misses')}, as recorded by the apps)`,
      `Saved     ${count(c.inputTokensSaved)} input + ${count(c.outputTokensSaved)} output tokens${priced && c.moneySaved !== undefined ? `, worth ${money(c.moneySaved)}` : ''}`,
    );
  } else {
    lines.push('Hit rate  no counters recorded yet (apps record them with persistStats, on by default)');
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
