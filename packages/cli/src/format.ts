/** Small formatters for human output. */

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 45s, 12m, 3h, 2d (one unit, rounded down), for ages and times to live. */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs < 1000) return `${sign}${Math.floor(abs)}ms`;
  if (abs < 60_000) return `${sign}${Math.floor(abs / 1000)}s`;
  if (abs < 3_600_000) return `${sign}${Math.floor(abs / 60_000)}m`;
  if (abs < 86_400_000) return `${sign}${Math.floor(abs / 3_600_000)}h`;
  return `${sign}${Math.floor(abs / 86_400_000)}d`;
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

/** Left-aligned columns; numeric-looking cells are right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((row) => /^[-\d.,$%]+( ?[KMGT]?i?B|[smhd]|ms)?$|^—$/.test(row[i] ?? '')),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Money in the unit of the price table: cents precision for large sums, four decimals for small ones. */
export function money(amount: number): string {
  return amount.toFixed(Math.abs(amount) >= 100 ? 0 : Math.abs(amount) >= 1 ? 2 : 4);
}

/** `1 entry`, `2 entries`, `1,000 misses`: a count with the noun that agrees with it. */
export function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** Hex digits of the digest `ls` shows: enough that a prefix names one entry among millions under one model. */
export const SHORT_DIGEST = 12;

/** A key as `ls` shows it: the labels in full, the digest cut short with `…`. `inspect` takes it back as given. */
export function shortKey(key: string): string {
  const digestAt = key.lastIndexOf(':') + 1;
  const cut = digestAt + SHORT_DIGEST;
  return digestAt > 0 && key.length > cut + 1 ? `${key.slice(0, cut)}…` : key;
}
