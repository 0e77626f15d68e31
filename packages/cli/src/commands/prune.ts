import { type GlobalOptions, openCache } from '../context.js';
import { plural } from '../format.js';

export async function pruneCommand(globals: GlobalOptions): Promise<void> {
  const cache = await openCache(globals);
  try {
    const deleted = await cache.prune();
    const note = cache.store.type === 'redis' ? ' (Redis expires entries by itself)' : '';
    if (globals.json) process.stdout.write(`${JSON.stringify({ deleted })}\n`);
    else process.stderr.write(`Deleted ${plural(deleted, 'expired entry', 'expired entries')}${note}.\n`);
  } finally {
    await cache.close();
  }
}
