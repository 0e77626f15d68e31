import { stat, utimes } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlmemoError } from '../errors.js';
import { hitPrefix } from '../hits.js';
import { KEY_PREFIX } from '../key.js';
import type { SeriesResolution, SeriesRow } from '../series.js';
import { FileKeyvAdapter } from './file-adapter.js';
import { FileCounters } from './file-counters.js';
import { FileHits, type HitRow } from './file-hits.js';
import { removeIfExists, TEMP_SUFFIX, walkFiles } from './file-io.js';
import { prefixDirectory } from './file-names.js';
import { rawKeyv } from './raw-keyv.js';
import { BATCH_SIZE, type CounterRow, KeyvStore, type ScannedEntry } from './store.js';

export interface FileStoreOptions {
  /** Most entries kept: the least recently used are evicted. Default unbounded. */
  maxEntries?: number;
  /** Most bytes of entry files kept: the least recently used are evicted. Default unbounded. */
  maxBytes?: number;
  /** How often the access times of hits are written (as file modification times). Default 1000 ms. */
  touchIntervalMs?: number;
  /** Called with the number of entries evicted to stay within the bounds. */
  onEvict?: (count: number) => void;
}

/** The directory of a `file://` URL: `file://fixtures` (relative to the working directory) or `file:///abs`. */
export function filePath(url: string): string {
  const rest = url.slice('file://'.length);
  if (rest === '' || rest === '/') {
    throw new LlmemoError('INVALID_OPTIONS', "store 'file://' needs a directory, e.g. 'file://test/fixtures/llm'.");
  }
  return resolve(rest.startsWith('/') ? fileURLToPath(url) : decodeURIComponent(rest));
}

/** Temp files older than this are left over from a crashed writer: prune removes them. */
const STALE_TEMP_MS = 60_000;

/**
 * `file://<dir>`: one pretty-printed JSON file per entry (file-adapter.ts, file-names.ts), so recorded answers
 * can be reviewed in a pull request and replayed in CI. Around the Keyv adapter it adds:
 * - scans and prefix deletes over the directory tree (a namespace is one directory);
 * - LRU bounds: a hit sets the entry file's modification time (batched), eviction removes the oldest;
 * - shared counters and per-entry hits in `+stats/` (git-ignored), changed under a lock.
 */
export class FileStore extends KeyvStore {
  override readonly sharedCounters = true;
  override readonly deleteWhileScanning = true;
  readonly dir: string;
  readonly maxEntries: number | undefined;
  readonly maxBytes: number | undefined;
  readonly adapter: FileKeyvAdapter;
  private readonly counters: FileCounters;
  readonly hits: FileHits;
  private readonly touched = new Set<string>();
  private touchTimer: ReturnType<typeof setTimeout> | undefined;
  private bounding: Promise<number> | undefined;
  private boundAgain = false;

  constructor(
    url: string,
    private readonly options: FileStoreOptions = {},
  ) {
    const dir = filePath(url);
    const adapter = new FileKeyvAdapter({ dir });
    // Serialization off: the adapter gets `{ value, expires }` and writes the entry as readable JSON itself.
    const keyv = rawKeyv(adapter, { json: false });
    super('file', keyv);
    this.dir = dir;
    this.adapter = adapter;
    this.counters = new FileCounters(dir);
    this.hits = new FileHits(dir);
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
  }

  locate(key: string): string {
    const path = this.adapter.pathOf(key);
    const shown = relative(process.cwd(), path);
    return `the file ${shown.startsWith('..') || isAbsolute(shown) ? path : shown}`;
  }

  get bounded(): boolean {
    return this.maxEntries !== undefined || this.maxBytes !== undefined;
  }

  override async get(key: string): Promise<string | undefined> {
    const value = await super.get(key);
    if (value !== undefined && this.bounded) this.touch(key);
    return value;
  }

  override async set(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    await super.set(key, value, ttlMs);
    if (this.bounded) void this.enforceBounds().catch(() => {});
  }

  override async close(): Promise<void> {
    await this.flushTouches().catch(() => {});
    await this.bounding?.catch(() => {});
  }

  // ---------------------------------------------------------------- recency and bounds

  private touch(key: string): void {
    this.touched.add(key);
    if (this.touchTimer !== undefined) return;
    this.touchTimer = setTimeout(() => void this.flushTouches().catch(() => {}), this.options.touchIntervalMs ?? 1000);
    this.touchTimer.unref?.();
  }

  /** Writes the access times of recent hits now (they are batched on a timer otherwise). */
  async flushTouches(): Promise<void> {
    clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    const keys = [...this.touched];
    this.touched.clear();
    const now = new Date();
    // An entry deleted meanwhile has no file to touch: nothing to do.
    await Promise.all(keys.map((key) => utimes(this.adapter.pathOf(key), now, now).catch(() => {})));
  }

  /** Evicts least recently used entries until the directory is within maxEntries and maxBytes; resolves how many. */
  enforceBounds(): Promise<number> {
    if (this.bounding) {
      this.boundAgain = true;
      return this.bounding;
    }
    this.bounding = (async () => {
      let evicted = 0;
      do {
        this.boundAgain = false;
        await this.flushTouches();
        evicted += await this.evict();
      } while (this.boundAgain);
      return evicted;
    })().finally(() => {
      this.bounding = undefined;
    });
    return this.bounding;
  }

  private async evict(): Promise<number> {
    const files: { path: string; bytes: number; used: number }[] = [];
    for await (const path of walkFiles(this.dir, '.json')) {
      const info = await stat(path).catch(() => undefined);
      if (info) files.push({ path, bytes: info.size, used: info.mtimeMs });
    }
    let bytes = files.reduce((sum, file) => sum + file.bytes, 0);
    let entries = files.length;
    files.sort((a, b) => a.used - b.used);
    let evicted = 0;
    for (const file of files) {
      if (entries <= (this.maxEntries ?? Infinity) && bytes <= (this.maxBytes ?? Infinity)) break;
      if (await removeIfExists(file.path)) evicted++;
      entries--;
      bytes -= file.bytes;
    }
    if (evicted > 0) this.options.onEvict?.(evicted);
    return evicted;
  }

  // ---------------------------------------------------------------- maintenance

  override async peek(key: string): Promise<ScannedEntry | undefined> {
    const data = (await this.adapter.read(key))?.data as { value?: unknown; expires?: number } | undefined;
    if (typeof data?.value !== 'string') return undefined;
    return { key, value: data.value, expires: data.expires };
  }

  override async *scan(prefix: string): AsyncIterable<ScannedEntry[]> {
    const sub = prefixDirectory(prefix, KEY_PREFIX);
    let batch: ScannedEntry[] = [];
    for await (const [key, data] of this.adapter.iterator(
      undefined,
      sub === undefined ? this.dir : join(this.dir, sub),
    )) {
      const wrapped = data as { value?: unknown; expires?: number };
      if (!key.startsWith(prefix) || typeof wrapped?.value !== 'string') continue;
      batch.push({ key, value: wrapped.value, expires: wrapped.expires });
      if (batch.length >= BATCH_SIZE) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  override async deleteKeys(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) if (await this.adapter.delete(key)) deleted++;
    return deleted;
  }

  override async prune(now = Date.now()): Promise<number> {
    const deleted = await super.prune(now);
    // Temp files of writers that died mid-write: old enough that no live writer can still rename them.
    for await (const path of walkFiles(this.dir, TEMP_SUFFIX)) {
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await removeIfExists(path);
    }
    if (this.bounded) await this.enforceBounds();
    return deleted;
  }

  override async count(prefix: string): Promise<number> {
    let count = 0;
    for await (const keys of this.scanKeys(prefix)) count += keys.length;
    return count;
  }

  // ---------------------------------------------------------------- shared counters and hits

  override async addCounters(rows: readonly CounterRow[]): Promise<void> {
    if (rows.length > 0) await this.counters.add(rows);
  }

  override async readCounters(namespace?: string): Promise<CounterRow[]> {
    return this.counters.read(namespace);
  }

  override async readSeries(
    resolution: SeriesResolution,
    from: number,
    to: number,
    namespace?: string,
  ): Promise<SeriesRow[]> {
    return this.counters.readSeries(resolution, from, to, namespace);
  }

  override async deleteCounters(namespace?: string): Promise<void> {
    await this.counters.delete(namespace);
    await this.hits.deletePrefix(hitPrefix(namespace));
  }

  override async addHits(rows: readonly HitRow[]): Promise<void> {
    if (rows.length > 0) await this.hits.add(rows);
  }

  override async readHits(keys: readonly string[]): Promise<Map<string, HitRow>> {
    return this.hits.read(keys);
  }
}
