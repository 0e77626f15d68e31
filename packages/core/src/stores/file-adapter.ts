import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { readIfExists, removeIfExists, TEMP_SUFFIX, walkFiles, writeAtomic } from './file-io.js';
import { entryPath } from './file-names.js';

/** What Keyv hands an adapter when it does not serialize: our stores pass `{ value, expires }`. */
interface Wrapped {
  value: unknown;
  expires?: number | undefined;
}

/**
 * One entry file. An llmemo entry (a JSON object in text form) is kept as `entry`, an object a reviewer can read
 * and diff; other text as `value`; anything else a Keyv user stores as `raw`.
 */
export interface EntryFile {
  key: string;
  expires?: number;
  entry?: Record<string, unknown>;
  value?: string;
  raw?: unknown;
}

/**
 * Sorts object keys at every depth, so a re-recorded fixture diffs only where it changed, except inside the
 * envelope's `body`: that is the answer itself, whose key order the app sees again on replay.
 */
function sorted(value: unknown, keepBody: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => sorted(item, false));
  if (value === null || typeof value !== 'object') return value;
  // fromEntries defines own properties, so a `__proto__` key stays data instead of setting the prototype.
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((name) => {
        const item = (value as Record<string, unknown>)[name];
        return [name, keepBody && name === 'body' ? item : sorted(item, false)];
      }),
  );
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The file text for a key and what Keyv gave the adapter. */
export function encodeEntryFile(key: string, data: unknown): string {
  // Built in sorted key order (entry, expires, key, raw, value); the entry sorted itself, its body left alone.
  const file: Partial<EntryFile> = {};
  const wrapped = data as Wrapped;
  if (wrapped !== null && typeof wrapped === 'object' && typeof wrapped.value === 'string') {
    const entry = parseObject(wrapped.value);
    if (entry) file.entry = sorted(entry, true) as Record<string, unknown>;
    if (typeof wrapped.expires === 'number') file.expires = wrapped.expires;
    file.key = key;
    if (!entry) file.value = wrapped.value;
  } else {
    file.key = key;
    file.raw = data;
  }
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** What the adapter gives Keyv back for a file's text; undefined when the file holds another key. */
export function decodeEntryFile(key: string | undefined, text: string): { key: string; data: unknown } | undefined {
  // A parse failure propagates as a SyntaxError: the store reports it as a corrupt entry.
  const file = JSON.parse(text) as EntryFile;
  if (file === null || typeof file !== 'object' || typeof file.key !== 'string') {
    throw new SyntaxError('not an llmemo entry file');
  }
  if (key !== undefined && file.key !== key) return undefined;
  if ('raw' in file) return { key: file.key, data: file.raw };
  const value = file.entry !== undefined ? JSON.stringify(file.entry) : file.value;
  if (typeof value !== 'string') throw new SyntaxError('the entry file has no value');
  const data: Wrapped = { value };
  if (typeof file.expires === 'number') data.expires = file.expires;
  return { key: file.key, data };
}

export interface FileAdapterOptions {
  dir: string;
}

/**
 * The Keyv storage adapter of `file://<dir>`: one JSON file per key (see file-names.ts for the layout), written
 * atomically (temp file + rename), so readers in any process see a whole file or none. Keyv keeps the expiry in
 * the stored `{ value, expires }` and drops expired entries on read, as it does for every adapter.
 */
export class FileKeyvAdapter extends EventEmitter {
  readonly dir: string;
  readonly opts: { dialect: 'file'; url: string };
  namespace?: string | undefined;

  constructor(options: FileAdapterOptions) {
    super();
    this.dir = options.dir;
    this.opts = { dialect: 'file', url: `file://${options.dir}` };
  }

  pathOf(key: string): string {
    return join(this.dir, entryPath(key));
  }

  /** The decoded file of a key, or undefined. */
  async read(key: string): Promise<{ key: string; data: unknown } | undefined> {
    const text = await readIfExists(this.pathOf(key));
    return text === undefined ? undefined : decodeEntryFile(key, text);
  }

  async get(key: string): Promise<unknown> {
    return (await this.read(key))?.data;
  }

  async getMany(keys: string[]): Promise<unknown[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  async has(key: string): Promise<boolean> {
    return (await this.read(key)) !== undefined;
  }

  async set(key: string, value: unknown): Promise<boolean> {
    await writeAtomic(this.pathOf(key), encodeEntryFile(key, value));
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    // A hashed (over-long) segment could in theory be shared with another key: only delete a file that is this key's.
    if (path.includes('+') && (await this.read(key).catch(() => undefined)) === undefined) return false;
    return removeIfExists(path);
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    const results = await Promise.all(keys.map((key) => this.delete(key)));
    return results.every(Boolean);
  }

  /**
   * Every stored key and its data (Keyv's namespace, when set, selects `<namespace>:` keys), under `root` (a
   * subdirectory, for a scan of one namespace). A file not at its key's own path (copied or moved by hand) is
   * skipped: it would never be read by `get` either.
   */
  async *iterator(namespace?: string, root = this.dir): AsyncGenerator<[string, unknown]> {
    const prefix = namespace ? `${namespace}:` : '';
    for await (const path of walkFiles(root, '.json')) {
      const text = await readIfExists(path);
      if (text === undefined) continue;
      let decoded: { key: string; data: unknown } | undefined;
      try {
        decoded = decodeEntryFile(undefined, text);
      } catch {
        continue;
      }
      if (decoded?.key.startsWith(prefix) && path === this.pathOf(decoded.key)) yield [decoded.key, decoded.data];
    }
  }

  async clear(): Promise<void> {
    const keys: string[] = [];
    for await (const [key] of this.iterator(this.namespace)) keys.push(key);
    await this.deleteMany(keys);
  }

  async disconnect(): Promise<void> {}
}

export { TEMP_SUFFIX };
