import { type GlobalOptions, openCache } from '../context.js';
import { CliError } from '../errors.js';
import { resolveKey } from '../resolve-key.js';

export async function inspectCommand(given: string, globals: GlobalOptions): Promise<void> {
  const cache = await openCache(globals);
  let key: string;
  let found: Awaited<ReturnType<typeof cache.inspect>>;
  try {
    key = await resolveKey(cache, given);
    found = await cache.inspect(key);
  } finally {
    await cache.close();
  }
  if (!found) throw new CliError(`no entry with key ${key} (list keys with \`llmemo ls\`).`);
  const output: Record<string, unknown> = { ...found.info };
  if (found.error === undefined) output.value = found.value;
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  if (found.error) {
    const hint =
      found.error.code === 'DECRYPT_FAILED'
        ? found.info.keyId === undefined
          ? ''
          : ` Pass the key with id ${found.info.keyId} in LLMEMO_ENCRYPTION_KEY (or --encryption-key).`
        : '';
    throw new CliError(`cannot show the value: ${found.error.message}${hint}`);
  }
}
