import type { ResponseCache, SummarizedEntry } from '@llmemo/core';

/** One entry as the dashboard lists it: labels, size and times. Never the body, never prompt text. */
export interface EntryRow extends SummarizedEntry {
  key: string;
  /** SHA-256 of the canonical request: what identifies the entry without revealing it. */
  digest: string;
  provider: string;
  /** How long the original call took (ms), when the entry recorded it. */
  computeMs?: number;
  /** Hits counted on this entry, and the last one (epoch ms), where the store keeps per-entry hit counts. */
  hits?: number;
  lastHitAt?: number;
}

/** Per-entry hit tracking, where a store keeps it (see `EntryRow.hits`): read when present, never required. */
interface HitInfo {
  hits?: unknown;
  lastHitAt?: unknown;
}

function epochMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Every entry's metadata from one scan of the store. */
export interface Snapshot {
  takenAt: number;
  /** How long the scan took (ms). */
  scanMs: number;
  rows: EntryRow[];
}

/**
 * Scans the store at most once per `maxAgeMs` and shares the result: the overview, the entry pages and the
 * Prometheus histograms all read one snapshot, and concurrent requests wait for the same scan instead of each
 * starting one. The scan reads metadata only (no body is decoded), so it needs no encryption key.
 */
export class SnapshotCache {
  private current: Snapshot | undefined;
  private running: Promise<Snapshot> | undefined;

  constructor(
    private readonly cache: ResponseCache,
    readonly maxAgeMs = 30_000,
  ) {}

  /** The current snapshot, scanning first when there is none younger than `maxAgeMs` (default: the cache's). */
  async get(options: { maxAgeMs?: number; now?: number } = {}): Promise<Snapshot> {
    const now = options.now ?? Date.now();
    const maxAge = options.maxAgeMs ?? this.maxAgeMs;
    if (this.current && now - this.current.takenAt < maxAge) return this.current;
    this.running ??= this.scan().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Like `get`, but waits at most `waitMs` for a scan: a Prometheus scrape must answer in time even when the store
   * is large. The scan goes on in the background; until it lands, this resolves the older snapshot (or none).
   */
  async within(waitMs: number, options: { maxAgeMs?: number } = {}): Promise<Snapshot | undefined> {
    const pending = this.get(options);
    pending.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
      timer.unref?.();
    });
    try {
      return (await Promise.race([pending, timeout])) ?? this.current;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Forgets the snapshot, so the next read scans again (after a purge, say). */
  invalidate(): void {
    this.current = undefined;
  }

  private async scan(): Promise<Snapshot> {
    const started = performance.now();
    const takenAt = Date.now();
    const rows: EntryRow[] = [];
    for await (const entry of this.cache.entries({ all: true }, { includeExpired: true })) {
      const row: EntryRow = {
        key: entry.key,
        digest: entry.digest,
        namespace: entry.namespace,
        kind: entry.kind,
        provider: entry.provider,
        model: entry.model,
        bytes: entry.bytes,
        createdAt: entry.createdAt.getTime(),
        expiresAt: entry.expiresAt === null ? null : entry.expiresAt.getTime(),
        expired: entry.expired,
        encrypted: entry.encrypted,
        compressed: entry.compressed,
      };
      if (entry.computeMs !== undefined) row.computeMs = entry.computeMs;
      const { hits, lastHitAt } = entry as HitInfo;
      if (typeof hits === 'number' && Number.isFinite(hits)) row.hits = hits;
      const last = epochMs(lastHitAt);
      if (last !== undefined) row.lastHitAt = last;
      rows.push(row);
    }
    this.current = { takenAt, scanMs: Math.round(performance.now() - started), rows };
    return this.current;
  }
}
