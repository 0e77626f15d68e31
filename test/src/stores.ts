import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared redis-server's URL, provided by the global setup. */
    redisUrl: string;
    /** A Chromium binary for the browser tests, found or installed by the global setup. */
    chromiumPath: string;
  }
}

export const STORE_KINDS = ['memory', 'sqlite', 'redis', 'file'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

const dirs: string[] = [];

/** A fresh temporary directory, removed at process exit. */
export function tempDir(prefix = 'llmemo-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

process.once('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The shared redis-server's URL (started by the global setup). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A store URL of the given kind that no other test uses: a new SQLite file or directory, or the shared Redis. */
export function storeUrl(kind: StoreKind): string {
  switch (kind) {
    case 'memory':
      return 'memory://';
    case 'sqlite':
      return `sqlite://${join(tempDir(), 'cache.sqlite')}`;
    case 'redis':
      return redisUrl();
    case 'file':
      return `file://${join(tempDir(), 'fixtures')}`;
  }
}

/** A namespace no other test uses, so tests sharing one Redis never see each other's entries. */
export function uniqueNamespace(label = 'test'): string {
  return `${label}-${randomUUID()}`;
}
