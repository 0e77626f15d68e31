// The llmemo dashboard page: reads api/overview and api/entries (relative to the page) and draws them.
// No framework and no build step: plain modules, served as they are.
import { $, destroyCharts, lastOverview, RANGE_LABELS, render, renderEntries, setStatus } from './render.js';

const TOKEN_KEY = 'llmemo-dashboard-token';
const PAGE_SIZE = 25;
const REFRESH_MS = 60_000;

const state = { range: '24h', namespace: '', offset: 0, sort: 'newest', retry: 0 };

class SignInNeeded extends Error {}

// ------------------------------------------------------------------ API

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== undefined));
  const headers = { accept: 'application/json' };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(`${path}${query.size ? `?${query}` : ''}`, {
    headers,
    cache: 'no-store',
    credentials: 'omit',
  });
  if (response.status === 401) throw new SignInNeeded('The admin token was refused.');
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error?.message ?? `${response.status} ${response.statusText}`);
  return body;
}

// ------------------------------------------------------------------ flow

async function loadEntries() {
  const page = await api('api/entries', {
    sort: state.sort,
    namespace: state.namespace,
    offset: state.offset,
    limit: PAGE_SIZE,
  });
  renderEntries(page);
}

async function load() {
  clearTimeout(state.retry);
  try {
    const overview = await api('api/overview', { range: state.range, namespace: state.namespace });
    render(overview, state.namespace);
    showDashboard();
    if (overview.entriesPending) {
      // The counters are on screen; the entries come with the next answer, once the scan is done.
      state.retry = setTimeout(load, 100); // the next answer waits for the running scan
      return;
    }
    await loadEntries();
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (error instanceof SignInNeeded) return showSignIn(token() ? 'That token was refused.' : '');
    setStatus(`Could not load the dashboard: ${error.message}`);
  }
}

function showDashboard() {
  $('signin-panel').hidden = true;
  $('main').hidden = false;
  $('controls').hidden = false;
  $('signout').hidden = !token();
  setStatus('');
  document.body.dataset.ready = 'partial';
}

function showSignIn(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('main').hidden = true;
  $('controls').hidden = true;
  $('signin-panel').hidden = false;
  $('signin-error').textContent = message;
  setStatus('');
  destroyCharts();
  document.body.dataset.ready = 'signin';
  $('token').focus();
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const range = params.get('range');
  if (range in RANGE_LABELS) state.range = range;
  state.namespace = params.get('namespace') ?? '';
  for (const input of document.querySelectorAll('input[name=range]')) input.checked = input.value === state.range;
}

function writeHash() {
  const params = new URLSearchParams({ range: state.range });
  if (state.namespace) params.set('namespace', state.namespace);
  history.replaceState(null, '', `#${params}`);
}

function wire() {
  for (const input of document.querySelectorAll('input[name=range]')) {
    input.addEventListener('change', () => {
      state.range = input.value;
      writeHash();
      load();
    });
  }
  $('namespace').addEventListener('change', (event) => {
    state.namespace = event.target.value;
    state.offset = 0;
    writeHash();
    load();
  });
  $('refresh').addEventListener('click', () => load());
  $('signout').addEventListener('click', () => showSignIn(''));
  $('entry-sort').addEventListener('change', (event) => {
    state.sort = event.target.value;
    state.offset = 0;
    loadEntries().catch((error) => setStatus(error.message));
  });
  $('entries-prev').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    loadEntries().catch((error) => setStatus(error.message));
  });
  $('entries-next').addEventListener('click', () => {
    state.offset += PAGE_SIZE;
    loadEntries().catch((error) => setStatus(error.message));
  });
  $('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    load();
  });
  // Charts take their colors from the scheme: redraw when it changes.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    const shown = lastOverview();
    if (shown) render(shown, state.namespace);
  });
  setInterval(() => {
    if (document.visibilityState === 'visible' && !$('main').hidden) load();
  }, REFRESH_MS);
}

async function start() {
  readHash();
  wire();
  const auth = await api('api/auth').catch(() => ({ required: false }));
  if (auth.required && !token()) return showSignIn('');
  await load();
}

start();
