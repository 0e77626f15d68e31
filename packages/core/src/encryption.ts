import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { LlmemoError } from './errors.js';

/** A 32-byte AES-256 key: raw bytes (Buffer/Uint8Array), 64 hex characters, or base64 of 32 bytes. */
export type KeyMaterial = string | Uint8Array;

export interface EncryptionOptions {
  /** The key new entries are written under. Default: the LLMEMO_ENCRYPTION_KEY environment variable. */
  key?: KeyMaterial;
  /**
   * Keys entries may still be written under (rotation): they are read, and re-written under `key` on access.
   * Default: LLMEMO_ENCRYPTION_PREVIOUS_KEYS (comma-separated) when `key` comes from the environment.
   */
  previousKeys?: KeyMaterial[];
}

export const ENCRYPTION_KEY_ENV = 'LLMEMO_ENCRYPTION_KEY';
export const PREVIOUS_KEYS_ENV = 'LLMEMO_ENCRYPTION_PREVIOUS_KEYS';

const HOW_TO_MAKE_A_KEY =
  "Generate one with `openssl rand -base64 32` or `node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64'))\"`";
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}={0,1}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Parses key material into 32 bytes. The message never contains the key itself. */
export function parseKeyMaterial(input: unknown, option: string): Buffer {
  if (input instanceof Uint8Array) {
    if (input.byteLength === 32) return Buffer.from(input);
    throw new LlmemoError(
      'INVALID_OPTIONS',
      `${option} must be 32 bytes for AES-256; got ${input.byteLength} bytes. ${HOW_TO_MAKE_A_KEY}.`,
    );
  }
  if (typeof input === 'string') {
    const text = input.trim();
    if (HEX_KEY.test(text)) return Buffer.from(text, 'hex');
    if (BASE64_KEY.test(text)) {
      const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (bytes.length === 32) return bytes;
    }
    throw new LlmemoError(
      'INVALID_OPTIONS',
      `${option} must be 32 bytes given as 64 hex characters or base64 (44 characters); got a string of ${text.length} characters. ${HOW_TO_MAKE_A_KEY}.`,
    );
  }
  throw new LlmemoError(
    'INVALID_OPTIONS',
    `${option} must be 32 bytes: a Buffer/Uint8Array, or a hex or base64 string. ${HOW_TO_MAKE_A_KEY}.`,
  );
}

/**
 * The id stored with each entry, so a reader picks the right key and rotation works. A label is hashed in with
 * the key (domain separation): the id is not the plain SHA-256 prefix other tools may also publish for the key.
 */
export function keyId(key: Uint8Array): string {
  return createHash('sha256').update('llmemo-encryption-key-id:').update(key).digest('hex').slice(0, 8);
}

/**
 * The HMAC key for request digests, derived from an encryption key with HKDF-SHA-256 (RFC 5869) under its own
 * label, so the digest key and the AES key are independent and neither reveals the other.
 */
export function digestKey(key: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', key, 'llmemo', 'llmemo request digest v2', 32));
}

/**
 * AES-256-GCM with a random 96-bit IV per entry and, as additional authenticated data, the stored key and every
 * metadata field of the entry (see entry-codec.ts). Also holds the keys request digests are keyed with.
 */
export class Keyring {
  readonly currentId: string;
  /** HMAC keys for request digests: the current key's first, then each previous key's (for rotation lookups). */
  readonly digestKeys: readonly Buffer[];
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, previous: Buffer[] = []) {
    this.currentId = keyId(current);
    this.keys.set(this.currentId, current);
    for (const [index, key] of previous.entries()) {
      const id = keyId(key);
      if (this.keys.has(id)) {
        if (this.keys.get(id)!.equals(key)) continue;
        throw new LlmemoError(
          'INVALID_OPTIONS',
          `encryption.previousKeys[${index}] has the same key id as another key; use distinct keys.`,
        );
      }
      this.keys.set(id, key);
    }
    this.digestKeys = Object.freeze([...this.keys.values()].map(digestKey));
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  /** Ciphertext with the 16-byte tag appended. */
  encrypt(plain: Uint8Array, aad: string): { id: string; iv: string; data: Buffer } {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(aad));
    const data = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { id: this.currentId, iv: iv.toString('base64'), data };
  }

  /** Throws DECRYPT_FAILED for an unknown key id, or a ciphertext that does not authenticate. */
  decrypt(id: string, iv: string, data: Buffer, aad: string): Buffer {
    const key = this.keys.get(id);
    if (!key) {
      throw new LlmemoError(
        'DECRYPT_FAILED',
        `The entry was encrypted with key id ${id}, which is not the current key (${this.currentId}) nor one of encryption.previousKeys; add that key to previousKeys to read it.`,
      );
    }
    const ivBytes = Buffer.from(iv, 'base64');
    if (ivBytes.length !== IV_BYTES || data.length < TAG_BYTES) {
      throw new LlmemoError('DECRYPT_FAILED', 'The encrypted entry is truncated or malformed.');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, ivBytes);
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new LlmemoError(
        'DECRYPT_FAILED',
        `The encrypted entry did not authenticate under key id ${id}: it was modified, or moved from another key.`,
        { cause: error },
      );
    }
  }
}

/**
 * The keyring for `createCache({ encryption })`: undefined (not given) falls back to LLMEMO_ENCRYPTION_KEY,
 * `false` turns encryption off even when the variable is set.
 */
export function resolveEncryption(
  option: EncryptionOptions | false | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Keyring | undefined {
  if (option === false) return undefined;
  if (option === undefined) {
    const fromEnv = env[ENCRYPTION_KEY_ENV];
    if (fromEnv === undefined || fromEnv.trim() === '') return undefined;
    option = {};
  }
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new LlmemoError(
      'INVALID_OPTIONS',
      'encryption must be { key, previousKeys? } or false (the key can also come from LLMEMO_ENCRYPTION_KEY).',
    );
  }
  for (const name of Object.keys(option)) {
    if (name !== 'key' && name !== 'previousKeys') {
      throw new LlmemoError('INVALID_OPTIONS', `encryption has no option '${name}'; use 'key' and 'previousKeys'.`);
    }
  }
  let key: unknown = option.key;
  let previous: unknown = option.previousKeys;
  let source = 'encryption.key';
  if (key === undefined) {
    key = env[ENCRYPTION_KEY_ENV];
    source = ENCRYPTION_KEY_ENV;
    if (key === undefined || (key as string).trim() === '') {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `encryption needs a key: pass encryption.key or set ${ENCRYPTION_KEY_ENV}. ${HOW_TO_MAKE_A_KEY}.`,
      );
    }
    if (previous === undefined && env[PREVIOUS_KEYS_ENV]) {
      previous = env[PREVIOUS_KEYS_ENV]!.split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    }
  }
  if (previous !== undefined && !Array.isArray(previous)) {
    throw new LlmemoError('INVALID_OPTIONS', 'encryption.previousKeys must be an array of keys.');
  }
  return new Keyring(
    parseKeyMaterial(key, source),
    ((previous as unknown[] | undefined) ?? []).map((item, index) =>
      parseKeyMaterial(item, `encryption.previousKeys[${index}]`),
    ),
  );
}
