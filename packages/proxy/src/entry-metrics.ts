import { DURATION_BOUNDS, type EntrySummary, type ResponseCache } from '@llmemo/core';
import { type Snapshot, type SnapshotCache, summarizeRows } from '@llmemo/dashboard';
import { Counter, type Registry } from 'prom-client';

/** A scrape waits this long at most for a fresh scan of the entries; otherwise it shows the previous one. */
const SCRAPE_WAIT_MS = 2000;
/** Scans for the histograms happen at most this often (a scan reads every entry's metadata). */
const SCAN_EVERY_MS = 60_000;

const BUCKETS_SECONDS = DURATION_BOUNDS.map((ms) => ms / 1000);

interface HistogramValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A Prometheus histogram of what the store holds now (not of observations): recomputed from the shared entry
 * snapshot at scrape time, so Grafana's histogram_quantile and heatmaps work on it. prom-client's Histogram only
 * accumulates observations, so this registers a collector object of its own shape (name, help, type, get()).
 */
function snapshotHistogram(
  registry: Registry,
  name: string,
  help: string,
  read: () => Promise<{ counts: number[]; sum: number } | undefined>,
): void {
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    aggregator: 'first',
    async get() {
      const histogram = await read();
      const values: HistogramValue[] = [];
      if (histogram) {
        let cumulative = 0;
        for (const [index, bound] of BUCKETS_SECONDS.entries()) {
          cumulative += histogram.counts[index] ?? 0;
          values.push({
            metricName: `${name}_bucket`,
            labels: { le: Number.isFinite(bound) ? bound : '+Inf' },
            value: cumulative,
          });
        }
        values.push({ metricName: `${name}_sum`, labels: {}, value: histogram.sum / 1000 });
        values.push({ metricName: `${name}_count`, labels: {}, value: cumulative });
      }
      return { name, help, type: 'histogram', values, aggregator: 'first' };
    },
    // prom-client calls these on metrics it owns; a snapshot has nothing to reset.
    reset() {},
  } as never);
}

/**
 * What the dashboard shows, for Prometheus: the age and remaining TTL of the stored entries (from the dashboard's
 * snapshot, rescanned at most once a minute), and the time, stale hits and bypasses the cache counted.
 */
export function registerEntryMetrics(registry: Registry, cache: ResponseCache, snapshots: SnapshotCache): void {
  // Both histograms of one scrape read one summary of one snapshot.
  const summaries = new WeakMap<Snapshot, EntrySummary>();
  const summary = async () => {
    try {
      const snapshot = await snapshots.within(SCRAPE_WAIT_MS, { maxAgeMs: SCAN_EVERY_MS });
      if (!snapshot) return undefined;
      let summarized = summaries.get(snapshot);
      if (!summarized) {
        summarized = summarizeRows(snapshot.rows, snapshot.takenAt);
        summaries.set(snapshot, summarized);
      }
      return summarized;
    } catch {
      // A store that cannot be scanned right now leaves the histograms out of this scrape; /metrics still answers.
      return undefined;
    }
  };
  snapshotHistogram(
    registry,
    'llmemo_cache_entry_age_seconds',
    'Age of the entries in the store, at the last scan (at most a minute old).',
    async () => (await summary())?.age,
  );
  snapshotHistogram(
    registry,
    'llmemo_cache_entry_ttl_seconds',
    'Time left before expiry of the fresh entries that expire, at the last scan (at most a minute old).',
    async () => (await summary())?.ttl,
  );
  const registers = [registry];
  const fromStats = (name: string, help: string, read: (stats: ReturnType<ResponseCache['stats']>) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(cache.stats()));
      },
    });
  fromStats(
    'llmemo_cache_time_saved_seconds_total',
    'Compute time the hits did not wait for: the summed recorded duration of each entry served.',
    (s) => s.timeSavedMs / 1000,
  );
  fromStats('llmemo_cache_stale_hits_total', 'Hits served from an expired entry (stale serving).', (s) => s.staleHits);
  fromStats(
    'llmemo_cache_bypasses_total',
    'Calls that went straight to compute (cache off, unkeyable).',
    (s) => s.bypasses,
  );
}
