// Charts drawn with uPlot (bundled, see vendor/): a stacked bar chart of requests over time, a hit-rate line and
// histogram bars. Each chart follows its container's width and redraws in the current color scheme.

const { uPlot } = globalThis;

function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function axes(yValues, x = {}) {
  const stroke = color('--muted');
  const grid = { stroke: color('--grid'), width: 1 };
  const ticks = { stroke: color('--grid'), width: 1 };
  return [
    { stroke, grid, ticks, ...x },
    { stroke, grid, ticks, size: 52, values: (_u, splits) => splits.map(yValues) },
  ];
}

function height(el) {
  return el.clientWidth < 480 ? 180 : 240;
}

/** Keeps a chart as wide as its container. */
function follow(el, chart) {
  const observer = new ResizeObserver(() => chart.setSize({ width: el.clientWidth, height: height(el) }));
  observer.observe(el);
  return () => {
    observer.disconnect();
    chart.destroy();
  };
}

/**
 * Stacked bars over time. uPlot does not stack: each series is drawn as the running total of itself and the
 * series after it, largest first, so each bar segment shows one series; the legend shows the real values.
 */
export function stackedBars(el, { at, series, format }) {
  el.replaceChildren();
  const totals = series.map((_, i) => at.map((_, j) => series.slice(i).reduce((sum, s) => sum + s.values[j], 0)));
  const bars = uPlot.paths.bars({ size: [0.8, 40], gap: 1 });
  const chart = new uPlot(
    {
      width: el.clientWidth,
      height: height(el),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: axes(format),
      legend: { live: true },
      cursor: { points: { show: false } },
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          fill: color(s.color),
          stroke: color(s.color),
          width: 0,
          paths: bars,
          points: { show: false },
          value: (_u, _v, _s, idx) => (idx === null ? '—' : format(series[i].values[idx])),
        })),
      ],
    },
    [at.map((ms) => ms / 1000), ...totals],
    el,
  );
  return follow(el, chart);
}

export function line(el, { at, values, label, colorName, format, tick, max }) {
  el.replaceChildren();
  const chart = new uPlot(
    {
      width: el.clientWidth,
      height: height(el),
      scales: { x: { time: true }, y: { range: [0, max] } },
      axes: axes(tick),
      series: [
        {},
        {
          label,
          stroke: color(colorName),
          fill: `${color(colorName)}33`,
          width: 2,
          // Periods without lookups are gaps; a lone period is still drawn, as a dot.
          spanGaps: false,
          points: { show: true, size: 6, fill: color(colorName) },
          value: (_u, v) => (v === null || v === undefined ? '—' : format(v)),
        },
      ],
    },
    [at.map((ms) => ms / 1000), values],
    el,
  );
  return follow(el, chart);
}

export function histogram(el, { labels, counts, label, colorName, format }) {
  el.replaceChildren();
  const xs = labels.map((_, i) => i);
  const chart = new uPlot(
    {
      width: el.clientWidth,
      height: height(el),
      scales: {
        x: { time: false, range: [-0.5, labels.length - 0.5] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: axes(format, {
        splits: () => xs,
        values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
        gap: 4,
      }),
      legend: { live: true },
      series: [
        { label: 'Range', value: (_u, i) => (i === null ? '—' : (labels[i] ?? '')) },
        {
          label,
          fill: color(colorName),
          stroke: color(colorName),
          width: 0,
          paths: uPlot.paths.bars({ size: [0.7, 80] }),
          points: { show: false },
          value: (_u, v) => (v === null || v === undefined ? '—' : format(v)),
        },
      ],
    },
    [xs, counts],
    el,
  );
  return follow(el, chart);
}
