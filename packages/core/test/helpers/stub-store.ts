import type { CacheStore } from '../../src/stores/store.js';

/**
 * A hand-driven store for unit tests of the cache's collaborators: a Map, plus a switch that makes every
 * operation fail or hang. Only what the guarded store calls is implemented.
 */
export class StubStore {
  readonly data = new Map<string, string>();
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  readonly calls: string[] = [];
  type: CacheStore['type'] = 'sqlite';

  private async run<T>(name: string, answer: () => T): Promise<T> {
    this.calls.push(name);
    if (this.mode === 'fail') throw new Error(`${name} failed`);
    if (this.mode === 'hang') return new Promise<T>(() => {});
    return answer();
  }

  get(key: string): Promise<string | undefined> {
    return this.run('get', () => this.data.get(key));
  }

  set(key: string, value: string): Promise<void> {
    return this.run('set', () => void this.data.set(key, value));
  }

  delete(key: string): Promise<boolean> {
    return this.run('delete', () => this.data.delete(key));
  }

  addCounters(): Promise<void> {
    return this.run('addCounters', () => undefined);
  }

  close(): Promise<void> {
    return this.run('close', () => undefined);
  }

  asStore(): CacheStore {
    return this as unknown as CacheStore;
  }
}
