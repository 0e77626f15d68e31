export type { Dashboard, DashboardOptions } from './app.js';
export { createDashboard } from './app.js';
export type { EntriesPage, EntriesQuery, EntryItem, EntrySort } from './entries.js';
export { ENTRY_SORTS, listEntries } from './entries.js';
export type {
  CounterSummary,
  EntriesOverview,
  GroupSummary,
  HistogramJson,
  Overview,
  OverviewOptions,
} from './overview.js';
export { buildOverview, summarizeRows } from './overview.js';
export type { EntryRow, Snapshot } from './snapshot.js';
export { SnapshotCache } from './snapshot.js';
