import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Suffix of in-progress writes: never read as entries, swept by `prune`. */
export const TEMP_SUFFIX = '.tmp';

function isCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException)?.code ?? '');
}

/**
 * Writes `text` to `path` so that readers see the old file or the new one, never a torn one: a temp file beside it
 * (same directory, so the rename stays on one file system), then rename over the target.
 */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  try {
    await writeFile(temp, text);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, text);
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** A file's text, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
}

/** Deletes a file; resolves whether it existed. */
export async function removeIfExists(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return false;
    throw error;
  }
}

/**
 * Every file under `dir` (recursively) whose name ends in `suffix`, as absolute paths, depth first. Directories
 * whose name starts with `+` are skipped: they hold the store's own files, not entries, except when `dir` is one.
 */
export async function* walkFiles(dir: string, suffix: string): AsyncIterable<string> {
  let names: import('node:fs').Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return;
    throw error;
  }
  for (const entry of names) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '+keys' && entry.name.startsWith('+')) continue;
      yield* walkFiles(path, suffix);
    } else if (entry.name.endsWith(suffix)) {
      yield path;
    }
  }
}
