import { type CounterRow, emptyCounters } from '../counters.js';
import { addInto, SERIES_RETENTION_MS, type SeriesResolution, type SeriesRow, splitDeltas } from '../series.js';
import { SharedJsonFile } from './file-shared.js';

interface CountersFile {
  totals: Record<string, CounterRow>;
  minute: Record<string, SeriesRow>;
  hour: Record<string, SeriesRow>;
}

const id = (row: CounterRow) => JSON.stringify([row.namespace, row.model]);
const bucketId = (row: SeriesRow) => JSON.stringify([row.at, row.namespace, row.model]);

function addRow<R extends CounterRow>(map: Record<string, R>, key: string, row: R): void {
  const target = map[key];
  if (target) addInto(target, row);
  else map[key] = { ...row };
}

/**
 * The file store's shared counters: totals and minute/hour buckets in one `+stats/counters.json`, changed under
 * a lock by each flush, so any number of processes add up exactly (see series.ts for the buckets).
 */
export class FileCounters {
  private readonly file: SharedJsonFile<CountersFile>;

  constructor(dir: string) {
    this.file = new SharedJsonFile<CountersFile>(dir, 'counters.json', () => ({ totals: {}, minute: {}, hour: {} }));
  }

  async add(rows: readonly CounterRow[], now = Date.now()): Promise<void> {
    const { totals, buckets } = splitDeltas(rows);
    await this.file.update((data) => {
      for (const row of totals) addRow(data.totals, id(row), row);
      for (const resolution of ['minute', 'hour'] as const) {
        const map = data[resolution];
        for (const row of buckets[resolution]) addRow(map, bucketId(row), row);
        const oldest = now - SERIES_RETENTION_MS[resolution];
        for (const [key, row] of Object.entries(map)) if (row.at < oldest) delete map[key];
      }
    });
  }

  async read(namespace?: string): Promise<CounterRow[]> {
    const data = await this.file.read();
    return Object.values(data.totals)
      .filter((row) => namespace === undefined || row.namespace === namespace)
      .map((row) => ({ ...emptyCounters(row.namespace, row.model), ...row }));
  }

  async readSeries(resolution: SeriesResolution, from: number, to: number, namespace?: string): Promise<SeriesRow[]> {
    const data = await this.file.read();
    return Object.values(data[resolution]).filter(
      (row) => row.at >= from && row.at < to && (namespace === undefined || row.namespace === namespace),
    );
  }

  async delete(namespace?: string): Promise<void> {
    await this.file.update((data) => {
      for (const map of [data.totals, data.minute, data.hour] as Record<string, CounterRow>[]) {
        for (const [key, row] of Object.entries(map))
          if (namespace === undefined || row.namespace === namespace) delete map[key];
      }
    });
  }
}
