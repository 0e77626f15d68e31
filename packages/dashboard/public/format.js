// Number formatting for the page. Counts are exact (grouped digits); everything else is rounded for reading, and
// every shown number carries its exact value in a <data value> element.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function count(n) {
  return integer.format(n);
}

export function percent(rate) {
  return `${(rate * 100).toFixed(1)}%`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Milliseconds as the largest sensible unit: 850 ms, 4.2 s, 12 min, 3.5 h, 2.0 d. */
export function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(s < 600 ? 1 : 0)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** In the unit of the price table (no symbol: it is the user's own currency), as `llmemo stats` prints it. */
export function money(amount) {
  return amount.toFixed(Math.abs(amount) >= 100 ? 0 : Math.abs(amount) >= 1 ? 2 : 4);
}

/** A histogram bucket's label from its bounds (ms): "≤ 1 min", "1–10 min", "> 30 d". */
export function bucketLabel(bounds, index) {
  const short = (ms) => {
    if (ms < 3_600_000) return `${ms / 60_000} min`;
    if (ms < 86_400_000) return `${ms / 3_600_000} h`;
    return `${ms / 86_400_000} d`;
  };
  const upper = bounds[index];
  if (upper === null) return `> ${short(bounds[index - 1])}`;
  if (index === 0) return `≤ ${short(upper)}`;
  return `${short(bounds[index - 1])}–${short(upper)}`;
}

export function time(at, step) {
  const date = new Date(at);
  const options =
    step >= 3_600_000 * 6
      ? { month: 'short', day: 'numeric', hour: '2-digit' }
      : step >= 3_600_000
        ? { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
        : { hour: '2-digit', minute: '2-digit' };
  return date.toLocaleString(undefined, options);
}

/** Age or time left from now, for the entry table. */
export function ago(ms) {
  return duration(Math.max(0, ms));
}

/** A bucket's upper bound, short enough for an axis at 375 px: "1m", "6h", "30d", ">30d". */
export function axisLabel(bounds, index) {
  const short = (ms) => {
    if (ms < 3_600_000) return `${ms / 60_000}m`;
    if (ms < 86_400_000) return `${ms / 3_600_000}h`;
    return `${ms / 86_400_000}d`;
  };
  const upper = bounds[index];
  return upper === null ? `>${short(bounds[index - 1])}` : short(upper);
}
