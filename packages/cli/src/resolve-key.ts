import { KEY_PREFIX, parseKey, type ResponseCache } from '@llmemo/core';
import { CliError } from './errors.js';
import { plural } from './format.js';

/** How many candidates an ambiguous prefix lists before it says "and more". */
const CANDIDATES = 10;

/**
 * The full key a user means: the key itself, or a prefix of it such as `ls` prints (ending in `…`, or `...` when
 * a terminal turned it into three dots). A prefix must name exactly one entry; an ambiguous one lists candidates.
 */
export async function resolveKey(cache: ResponseCache, given: string): Promise<string> {
  const prefix = given.trim().replace(/(?:…|\.\.\.)$/, '');
  if (!prefix.startsWith(KEY_PREFIX)) {
    throw new CliError(
      `no entry with key ${given}: keys start with ${KEY_PREFIX} (give the key, or its start, as \`llmemo ls\` prints it).`,
    );
  }
  // A whole key is read directly: a prefix scan on Redis walks the whole keyspace.
  if (/^[0-9a-f]{64}$/.test(parseKey(prefix)?.digest ?? '')) return prefix;
  const found: string[] = [];
  for await (const batch of cache.store.scanKeys(prefix)) {
    // Counters and other non-entry keys share the store; only entry keys are candidates.
    for (const key of batch) if (parseKey(key) !== undefined) found.push(key);
    if (found.length > CANDIDATES) break;
  }
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new CliError(`no entry with key ${given} (list keys with \`llmemo ls\`).`);
  }
  found.sort();
  const shown = found.slice(0, CANDIDATES).map((key) => `  ${key}`);
  if (found.length > CANDIDATES) shown.push('  …');
  throw new CliError(
    `key prefix ${prefix} is ambiguous: it starts ${found.length > CANDIDATES ? `more than ${plural(CANDIDATES, 'entry', 'entries')}` : plural(found.length, 'entry', 'entries')}; give more of the key:\n${shown.join('\n')}`,
  );
}
