import { canonicalize } from './canonicalize.js';
import { decode } from './codec.js';
import { type Compression, compress, decompress } from './compression.js';
import { DecodedEntries } from './decoded-entries.js';
import type { Keyring } from './encryption.js';
import { BOUND_META_FIELDS, type BodyEncoding, type EntryMeta, type Envelope, validateEnvelope } from './envelope.js';
import { LlmemoError, type LlmemoErrorCode } from './errors.js';
import { parseKey } from './key.js';

/**
 * An entry this cache cannot read. `discard` says whether it is garbage (tampered, corrupt, unencrypted where
 * encryption is required) or just not ours to read (encrypted under a key this process does not hold: during a
 * key rotation another deployment may still need it).
 */
export class UnreadableEntry extends LlmemoError {
  constructor(
    code: LlmemoErrorCode,
    message: string,
    readonly discard: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

const NOT_ENCRYPTED =
  'The stored entry is not encrypted, but this cache requires encryption; it is ignored and will be replaced.';

/**
 * Turns an entry into the stored text and back. The metadata (labels, timestamps, usage, response model) always
 * stays plain JSON so stats, listing and purges work without the key; only `body` is compressed (above a size
 * threshold) and then encrypted, and is then stored as base64.
 */
export class EntryCodec {
  /** Repeated hits on one entry copy its decoded form instead of decoding it again. */
  private readonly decoded = new DecodedEntries();

  constructor(
    readonly keyring: Keyring | undefined,
    readonly compression: Compression | undefined,
  ) {}

  /** True when bodies may be stored as something other than inline JSON. */
  get seals(): boolean {
    return this.keyring !== undefined || this.compression !== undefined;
  }

  /** The stored text of an entry with an inline body (what serialize gives when nothing seals bodies). */
  inline(meta: EntryMeta, bodyJson: string): string {
    return `${JSON.stringify(meta).slice(0, -1)},"body":${bodyJson}}`;
  }

  /** The stored text for an entry whose body is already encoded (codec `encode`) as `bodyJson`. */
  async serialize(meta: EntryMeta, bodyJson: string, storedKey: string): Promise<string> {
    if (!this.seals) return this.inline(meta, bodyJson);
    const head = JSON.stringify(meta);
    let bytes: Buffer = Buffer.from(bodyJson);
    const enc: BodyEncoding = {};
    if (this.compression && bytes.length >= this.compression.threshold) {
      const packed = await compress(this.compression.algorithm, bytes);
      // Base64 adds a third: compress only when that still saves space.
      if (Math.ceil(packed.length / 3) * 4 < bytes.length) {
        bytes = packed;
        enc.z = this.compression.algorithm;
      }
    }
    if (this.keyring) {
      const sealed = this.keyring.encrypt(bytes, aad(storedKey, meta, enc.z));
      enc.k = sealed.id;
      enc.iv = sealed.iv;
      bytes = sealed.data;
    } else if (enc.z === undefined) {
      return `${head.slice(0, -1)},"body":${bodyJson}}`;
    }
    return `${head.slice(0, -1)},"enc":${JSON.stringify(enc)},"body":"${bytes.toString('base64')}"}`;
  }

  /**
   * Decodes, validates and opens a stored entry. Throws CORRUPT_ENTRY or DECRYPT_FAILED. `rotated` says the body
   * was sealed with a previous key (the caller re-writes it under the current one).
   */
  deserialize<T>(
    text: string,
    expected: { digest: string; kind: string },
    storedKey: string,
  ): { entry: Envelope<T>; rotated: boolean; bodyJson?: string } {
    const known = this.decoded.get<T>(storedKey, text);
    if (known !== undefined && known.digest === expected.digest && known.kind === expected.kind) {
      return { entry: known, rotated: false };
    }
    const entry = validateEnvelope<T>(decode(text), expected);
    if (entry.enc === undefined) {
      if (this.keyring) throw new UnreadableEntry('DECRYPT_FAILED', NOT_ENCRYPTED, true);
      this.decoded.remember(storedKey, text, entry);
      return { entry, rotated: false };
    }
    const { body, rotated } = this.open(entry, entry.body as unknown as string, storedKey);
    entry.body = decode<T>(body);
    delete entry.enc;
    // A rotated entry is re-written under the current key at once: its text is about to change.
    if (!rotated) this.decoded.remember(storedKey, text, entry);
    return { entry, rotated, bodyJson: body };
  }

  /** The encoded body JSON of a sealed entry; `meta` is the entry's metadata (bound into the ciphertext). */
  open(meta: EntryMeta, body: string, storedKey: string): { body: string; rotated: boolean } {
    const enc = meta.enc!;
    let bytes: Buffer = Buffer.from(body, 'base64');
    let rotated = false;
    if (enc.k !== undefined) {
      if (!this.keyring) {
        throw new UnreadableEntry(
          'DECRYPT_FAILED',
          `The stored entry is encrypted (key id ${enc.k}) and this cache has no key: set encryption.key or LLMEMO_ENCRYPTION_KEY.`,
          false,
        );
      }
      if (!this.keyring.has(enc.k)) {
        throw new UnreadableEntry(
          'DECRYPT_FAILED',
          `The stored entry was encrypted with key id ${enc.k}, which is neither the current key (${this.keyring.currentId}) nor one of encryption.previousKeys; add that key to previousKeys to read it.`,
          false,
        );
      }
      try {
        bytes = this.keyring.decrypt(enc.k, enc.iv!, bytes, aad(storedKey, meta, enc.z));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new UnreadableEntry('DECRYPT_FAILED', message, true, { cause: error });
      }
      rotated = enc.k !== this.keyring.currentId;
    } else if (this.keyring) {
      throw new UnreadableEntry('DECRYPT_FAILED', NOT_ENCRYPTED, true);
    }
    if (enc.z !== undefined) bytes = decompress(enc.z, bytes);
    return { body: bytes.toString('utf8'), rotated };
  }
}

/**
 * Binds a ciphertext to the key it is stored under, its compression flag, and every metadata field (expiry, stale
 * window, labels, digest, times, usage, reported model): moved or with any of them rewritten, it fails to open
 * (DECRYPT_FAILED, a miss), so nobody with write access to the store can extend an answer's life or relabel it.
 * The fields stay readable in plain JSON for tools without the key; they are authenticated, not hidden.
 */
function aad(storedKey: string, meta: EntryMeta, compression: string | undefined): string {
  const bound: Record<string, unknown> = {};
  for (const field of BOUND_META_FIELDS) bound[field] = meta[field];
  return `llmemo-entry:v2:${storedKey}:${compression ?? 'none'}:${canonicalize(bound, null)}`;
}

/** What tools see of a stored entry without opening its body. */
export interface StoredEntryInfo extends EntryMeta {
  key: string;
  /** Size of the stored text in bytes. */
  bytes: number;
  encrypted: boolean;
  compressed: 'gzip' | 'brotli' | null;
  /** The sealed or inline body, undecoded. */
  rawBody: unknown;
}

/**
 * Reads an entry's metadata without the key (and without decoding the body). Throws CORRUPT_ENTRY for text that
 * is not an llmemo entry for this key.
 */
export function readEntryMeta(key: string, text: string): StoredEntryInfo {
  const labels = parseKey(key);
  if (!labels) throw new LlmemoError('CORRUPT_ENTRY', 'The key is not an llmemo entry key.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LlmemoError('CORRUPT_ENTRY', 'The stored value is not JSON.', { cause: error });
  }
  const entry = validateEnvelope<unknown>(parsed, { digest: labels.digest, kind: labels.kind });
  // The parsed object is ours: turned into the result in place. Object spreads here cost more than the parse
  // itself on a 100k-entry scan; deleting `body`, the last key our writer puts, keeps the object's fast shape.
  const info = entry as unknown as StoredEntryInfo & { body?: unknown };
  const rawBody = info.body;
  delete info.body;
  info.key = key;
  info.bytes = Buffer.byteLength(text);
  info.encrypted = entry.enc?.k !== undefined;
  info.compressed = entry.enc?.z ?? null;
  info.rawBody = rawBody;
  return info;
}
