// Draws the overview and entry pages into the page: numbers as <data value> elements, charts, tables.
import { histogram, line, stackedBars } from './charts.js';
import { ago, axisLabel, bucketLabel, bytes, count, duration, money, percent, time } from './format.js';

export const RANGE_LABELS = { '24h': 'last 24 hours', '7d': 'last 7 days', '30d': 'last 30 days' };

export const $ = (id) => document.getElementById(id);
const state = { overview: null, charts: [], namespace: '' };

/** A chart step in words: "15 minutes", "hour", "6 hours". */
function period(ms) {
  if (ms === 3_600_000) return 'hour';
  return ms < 3_600_000 ? `${ms / 60_000} minutes` : `${ms / 3_600_000} hours`;
}

// ------------------------------------------------------------------ DOM helpers

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

/** A shown number: the exact value in <data value>, the readable form as its text. */
function number(value, format, metric) {
  return el('data', { value, 'data-metric': metric }, format(value));
}

function table(node, caption, headers, rows, numeric = []) {
  const head = el(
    'tr',
    {},
    ...headers.map((title, i) => el('th', { scope: 'col', class: numeric[i] ? 'num' : '' }, title)),
  );
  const body = rows.length
    ? rows.map((cells) =>
        el(
          'tr',
          {},
          ...cells.map((cell, i) =>
            i === 0 ? el('th', { scope: 'row' }, cell) : el('td', { class: numeric[i] ? 'num' : '' }, cell),
          ),
        ),
      )
    : [el('tr', {}, el('td', { colspan: headers.length, class: 'empty' }, 'Nothing yet.'))];
  node.replaceChildren(el('caption', { class: 'sr-only' }, caption), el('thead', {}, head), el('tbody', {}, ...body));
}

export function setStatus(text) {
  $('status').textContent = text;
  $('status').hidden = text === '';
}

// ------------------------------------------------------------------ rendering

function kpis(overview) {
  const t = overview.totals;
  const e = overview.entries;
  const items = [
    ['Hit rate', number(t.hitRate, percent, 'hitRate'), `hits ÷ (hits + misses)`],
    ['Requests', number(t.requests, count, 'requests'), 'hits + misses + bypasses'],
    ['Hits', number(t.hits, count, 'hits'), 'stale ones included'],
    ['Stale hits', number(t.staleHits, count, 'staleHits')],
    ['Misses', number(t.misses, count, 'misses')],
    ['Bypasses', number(t.bypasses, count, 'bypasses')],
    ['Input tokens saved', number(t.inputTokensSaved, count, 'inputTokensSaved')],
    ['Output tokens saved', number(t.outputTokensSaved, count, 'outputTokensSaved')],
  ];
  if (overview.priced) items.push(['Money saved', number(t.moneySaved ?? 0, money, 'moneySaved'), 'at your prices']);
  items.push(
    ['Time saved', number(t.timeSavedMs, duration, 'timeSavedMs'), 'compute time the hits skipped'],
    ['Writes', number(t.writes, count, 'writes')],
    ['Evictions', number(t.evictions, count, 'evictions')],
    ['Errors', number(t.errors, count, 'errors'), 'the cache failed open on these'],
    e
      ? ['Entries', number(e.entries, count, 'entries'), `${count(e.expired)} expired, not yet pruned`]
      : ['Entries', '…', 'scanning the store'],
    e ? ['Stored', number(e.bytes, bytes, 'bytes')] : ['Stored', '…'],
  );
  if (overview.live) {
    const breaker = overview.live.breaker;
    items.push([
      'Store breaker',
      el('data', { value: breaker.state, 'data-metric': 'breaker' }, breaker.state),
      `opened ${count(breaker.opens)} times`,
    ]);
  }
  $('kpis').replaceChildren(
    ...items.map(([label, value, note]) =>
      el('div', { class: 'kpi' }, el('dt', {}, label), el('dd', {}, value, note ? el('small', {}, note) : undefined)),
    ),
  );
}

export function destroyCharts() {
  for (const destroy of state.charts) destroy();
  state.charts = [];
}

function chartLabel(id, text) {
  $(id).setAttribute('aria-label', text);
}

function requestsChart(overview) {
  const points = overview.series;
  const at = points.map((p) => p.at);
  const series = [
    { label: 'Hits', color: '--hit', values: points.map((p) => p.hits - p.staleHits) },
    { label: 'Stale hits', color: '--stale', values: points.map((p) => p.staleHits) },
    { label: 'Misses', color: '--miss', values: points.map((p) => p.misses) },
    { label: 'Bypasses', color: '--bypass', values: points.map((p) => p.bypasses) },
  ];
  const t = overview.totals;
  chartLabel(
    'requests-chart',
    `Requests over the ${RANGE_LABELS[overview.range.range]}, one bar per ${period(overview.range.step)}: ${count(t.hits - t.staleHits)} fresh hits, ${count(t.staleHits)} stale hits, ${count(t.misses)} misses, ${count(t.bypasses)} bypasses.`,
  );
  state.charts.push(stackedBars($('requests-chart'), { at, series, format: count }));
  const busy = points.filter((p) => p.hits + p.misses + p.bypasses > 0);
  table(
    $('requests-table'),
    'Requests per period',
    ['From', 'Hits', 'Stale', 'Misses', 'Bypasses'],
    busy.map((p) => [
      time(p.at, overview.range.step),
      count(p.hits - p.staleHits),
      count(p.staleHits),
      count(p.misses),
      count(p.bypasses),
    ]),
    [false, true, true, true, true],
  );
}

function hitRateChart(overview) {
  const points = overview.series;
  const rates = points.map((p) => (p.hits + p.misses > 0 ? p.hits / (p.hits + p.misses) : null));
  chartLabel(
    'hitrate-chart',
    `Hit rate over the ${RANGE_LABELS[overview.range.range]}: ${percent(overview.totals.hitRate)} overall.`,
  );
  state.charts.push(
    line($('hitrate-chart'), {
      at: points.map((p) => p.at),
      values: rates,
      label: 'Hit rate',
      colorName: '--hit',
      format: percent,
      tick: (rate) => `${Math.round(rate * 100)}%`,
      max: 1,
    }),
  );
  table(
    $('hitrate-table'),
    'Hit rate per period',
    ['From', 'Hit rate', 'Hits', 'Misses'],
    points.flatMap((p, i) =>
      rates[i] === null ? [] : [[time(p.at, overview.range.step), percent(rates[i]), count(p.hits), count(p.misses)]],
    ),
    [false, true, true, true],
  );
}

function histogramChart(id, tableId, hist, label, colorName, what) {
  const labels = hist.bounds.map((_, i) => bucketLabel(hist.bounds, i));
  const axisLabels = hist.bounds.map((_, i) => axisLabel(hist.bounds, i));
  const total = hist.counts.reduce((sum, n) => sum + n, 0);
  chartLabel(
    id,
    `${label} of ${count(total)} ${what}: ${labels.map((l, i) => `${l}: ${count(hist.counts[i])}`).join('; ')}.`,
  );
  state.charts.push(
    histogram($(id), { labels: axisLabels, counts: hist.counts, label: what, colorName, format: count }),
  );
  table(
    $(tableId),
    label,
    ['Range', 'Entries'],
    labels.map((l, i) => [l, count(hist.counts[i])]),
    [false, true],
  );
}

function groupTable(node, caption, title, groups, priced, pending) {
  const headers = [title, 'Entries', 'Stored', 'Hits', 'Misses', 'Hit rate', 'Tokens saved'];
  if (priced) headers.push('Money saved');
  const rows = groups.map((g) => {
    const row = [
      g.name === '' ? '(none)' : g.name,
      pending ? '…' : number(g.entries, count, 'entries'),
      pending ? '…' : number(g.bytes, bytes, 'bytes'),
      number(g.hits, count, 'hits'),
      number(g.misses, count, 'misses'),
      g.hits + g.misses > 0 ? number(g.hitRate, percent, 'hitRate') : '—',
      number(g.inputTokensSaved + g.outputTokensSaved, count, 'tokensSaved'),
    ];
    if (priced) row.push(g.moneySaved === undefined ? '—' : number(g.moneySaved, money, 'moneySaved'));
    return row;
  });
  table(
    node,
    caption,
    headers,
    rows,
    headers.map((_, i) => i > 0),
  );
  for (const [i, g] of groups.entries()) node.tBodies[0].rows[i]?.setAttribute('data-name', g.name);
}

function namespaceOptions(overview) {
  if (overview.namespace !== null) return;
  const select = $('namespace');
  const names = overview.namespaces.map((g) => g.name).sort();
  const current = [...select.options].slice(1).map((o) => o.value);
  if (names.join('\n') === current.join('\n')) return;
  select.replaceChildren(
    el('option', { value: '' }, 'all'),
    ...names.map((name) => el('option', { value: name }, name)),
  );
  select.value = state.namespace;
}

export function render(overview, namespace) {
  state.namespace = namespace;
  state.overview = overview;
  const pending = overview.entriesPending;
  const scanned = pending
    ? 'scanning entries…'
    : `entries scanned ${ago(overview.generatedAt - overview.entries.scannedAt)} ago`;
  const counters = overview.store.sharedCounters ? 'counters shared by every process' : 'counters of this process only';
  $('store').textContent = `${overview.store.type} store, ${counters} · ${scanned}`;
  $('range-label').textContent = RANGE_LABELS[overview.range.range];
  kpis(overview);
  destroyCharts();
  requestsChart(overview);
  hitRateChart(overview);
  if (pending) {
    // A first scan of a large store is still running: the entry charts and columns wait for it.
    for (const id of ['age-chart', 'ttl-chart']) {
      $(id).replaceChildren(el('p', { class: 'hint' }, 'Scanning the store’s entries…'));
      chartLabel(id, 'Not drawn yet: the store’s entries are still being scanned.');
    }
  } else {
    histogramChart('age-chart', 'age-table', overview.entries.age, 'Entry age', '--accent', 'entries');
    histogramChart(
      'ttl-chart',
      'ttl-table',
      overview.entries.ttl,
      'Time left before expiry',
      '--accent-2',
      'fresh entries',
    );
  }
  groupTable(
    $('namespaces'),
    'Entries and counters by namespace',
    'Namespace',
    overview.namespaces,
    overview.priced,
    pending,
  );
  groupTable($('models'), 'Entries and counters by model', 'Model', overview.models, overview.priced, pending);
  table(
    $('kinds'),
    'Entries by kind',
    ['Kind', 'Entries', 'Stored'],
    overview.kinds.map((k) => [k.name, number(k.entries, count, 'entries'), number(k.bytes, bytes, 'bytes')]),
    [false, true, true],
  );
  if (!pending) topTable(overview);
  namespaceOptions(overview);
}

function topTable(overview) {
  // null: no entry has a hit count yet (caches count them with persistStats), so there is nothing to rank.
  $('top-panel').hidden = overview.top === null;
  $('sort-hits').hidden = overview.top === null;
  if (overview.top === null) return;
  const now = Date.now();
  table(
    $('top'),
    'The most-hit entries',
    ['Digest', 'Namespace', 'Model', 'Age', 'Hits', 'Last hit'],
    overview.top.map((item) => [
      el('code', { title: item.key }, item.digest.slice(0, 12)),
      item.namespace,
      item.model,
      ago(now - item.createdAt),
      number(item.hits, count, 'hits'),
      item.lastHitAt === null ? '—' : `${ago(now - item.lastHitAt)} ago`,
    ]),
    [false, false, false, true, true, true],
  );
}

export function renderEntries(page) {
  const now = Date.now();
  table(
    $('entries'),
    'Entries',
    ['Digest', 'Namespace', 'Model', 'Kind', 'Age', 'Expires in', 'Size', 'Compute time'],
    page.items.map((item) => [
      el('code', { title: item.key }, item.digest.slice(0, 12)),
      item.namespace,
      item.model,
      item.kind,
      ago(now - item.createdAt),
      item.expiresAt === null ? 'never' : item.expired ? 'expired' : ago(item.expiresAt - now),
      bytes(item.bytes),
      item.computeMs === null ? '—' : duration(item.computeMs),
    ]),
    [false, false, false, false, true, true, true, true],
  );
  const last = Math.min(page.offset + page.limit, page.total);
  $('entries-position').textContent = page.total
    ? `${count(page.offset + 1)}–${count(last)} of ${count(page.total)}`
    : 'none';
  $('entries-prev').disabled = page.offset === 0;
  $('entries-next').disabled = last >= page.total;
}

/** The overview last drawn (to redraw it in another color scheme). */
export function lastOverview() {
  return state.overview;
}
