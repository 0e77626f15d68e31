import { type GlobalOptions, openCache } from '../context.js';
import { plural } from '../format.js';

export interface PruneOptions {
  /** Delete entries not hit (or, never hit, not written) for this long, instead of expired ones. */
  unusedSince?: string;
  namespace?: string;
}

export async function pruneCommand(options: PruneOptions, globals: GlobalOptions): Promise<void> {
  const cache = await openCache(globals);
  try {
    if (options.unusedSince !== undefined) {
      const scope = options.namespace === undefined ? { all: true } : { namespace: options.namespace };
      const deleted = await cache.prune({ ...scope, unusedSince: options.unusedSince });
      if (globals.json) process.stdout.write(`${JSON.stringify({ deleted })}\n`);
      else {
        process.stderr.write(
          `Deleted ${plural(deleted, 'entry', 'entries')} unused for ${options.unusedSince} (no hit, and not written, since).\n`,
        );
      }
      return;
    }
    const deleted = await cache.prune();
    const note = cache.store.type === 'redis' ? ' (Redis expires entries by itself)' : '';
    if (globals.json) process.stdout.write(`${JSON.stringify({ deleted })}\n`);
    else process.stderr.write(`Deleted ${plural(deleted, 'expired entry', 'expired entries')}${note}.\n`);
  } finally {
    await cache.close();
  }
}
