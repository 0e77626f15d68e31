import { LlmemoError } from './errors.js';

export const ENVELOPE_VERSION = 1;

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
}

/** What an adapter can tell core about a value, beyond the value itself. */
export interface EntryMetadata {
  /** The model id the provider reported (it can differ from the requested one, e.g. a dated snapshot). */
  responseModel?: string;
  /** Tokens the original call used: a hit saves them. */
  usage?: TokenUsage;
  /**
   * How long the original call took, in ms: a hit saves that much waiting. The cache measures it (compute, or
   * lookup to commit for streams); an adapter that timed the provider call itself may give its own.
   */
  computeMs?: number;
}

/** A duration fit to record: a finite, non-negative number of ms (rounded), else undefined. */
export function computeDuration(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

/** One stored entry. Everything but `body` is metadata that tools can read without decoding the answer. */
export interface Envelope<T = unknown> extends EntryMetadata {
  v: typeof ENVELOPE_VERSION;
  kind: string;
  ns: string;
  provider: string;
  model: string;
  specVersion?: string;
  /** The SHA-256 digest of the request this entry answers: a value under the wrong key is detected. */
  digest: string;
  createdAt: number;
  /** When the entry stops being fresh; null = never. */
  expiresAt: number | null;
  /** When even stale serving must stop (stale-while-revalidate / stale-if-error windows); null = never. */
  staleUntil?: number | null;
  /** How `body` is stored when it is not inline JSON: compressed and/or encrypted, then base64. */
  enc?: BodyEncoding;
  /** The canonical request this entry answers (only with `recordRequest`): what a reviewer reads. */
  request?: unknown;
  body: T;
}

/** Set on entries whose body is sealed: `body` is then a base64 string. Everything else stays readable. */
export interface BodyEncoding {
  /** Compression applied before encryption. */
  z?: 'gzip' | 'brotli';
  /** Id of the AES-256-GCM key (see `keyId`); absent when the body is only compressed. */
  k?: string;
  /** Base64 96-bit IV. The GCM tag is the last 16 bytes of the body. */
  iv?: string;
}

/** The envelope without its body: what tools (stats, ls, purge) read, with or without the encryption key. */
export type EntryMeta = Omit<Envelope<never>, 'body'>;

/**
 * Every metadata field but `enc`, as a record so the compiler insists a new envelope field is listed: with
 * encryption on these are bound into the body's authenticated data (entry-codec.ts), so none can be rewritten.
 */
const BOUND: Record<Exclude<keyof EntryMeta, 'enc'>, true> = {
  v: true,
  kind: true,
  ns: true,
  provider: true,
  model: true,
  specVersion: true,
  digest: true,
  createdAt: true,
  expiresAt: true,
  staleUntil: true,
  responseModel: true,
  usage: true,
  computeMs: true,
  request: true,
};
export const BOUND_META_FIELDS = Object.freeze(Object.keys(BOUND)) as readonly (keyof EntryMeta)[];

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Checks a decoded value really is our envelope for this request. Anything else (another app's value, an older
 * format, a truncated write) is reported as CORRUPT_ENTRY and never reaches the caller.
 */
export function validateEnvelope<T>(value: unknown, expected: { digest: string; kind: string }): Envelope<T> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LlmemoError('CORRUPT_ENTRY', 'The stored value is not an llmemo entry.');
  }
  const entry = value as Partial<Envelope<T>>;
  if (entry.v !== ENVELOPE_VERSION) {
    throw new LlmemoError(
      'CORRUPT_ENTRY',
      `The stored entry has format version ${String(entry.v)}, expected ${ENVELOPE_VERSION}.`,
    );
  }
  if (entry.digest !== expected.digest || entry.kind !== expected.kind) {
    throw new LlmemoError('CORRUPT_ENTRY', 'The stored entry belongs to a different request.');
  }
  if (!isFiniteNumber(entry.createdAt) || !(entry.expiresAt === null || isFiniteNumber(entry.expiresAt))) {
    throw new LlmemoError('CORRUPT_ENTRY', 'The stored entry has invalid timestamps.');
  }
  if (!('body' in entry)) {
    throw new LlmemoError('CORRUPT_ENTRY', 'The stored entry has no body.');
  }
  if (entry.enc !== undefined) validateEncoding(entry.enc, entry.body);
  return entry as Envelope<T>;
}

function validateEncoding(enc: unknown, body: unknown): void {
  if (enc === null || typeof enc !== 'object' || Array.isArray(enc) || typeof body !== 'string') {
    throw new LlmemoError('CORRUPT_ENTRY', 'The stored entry has an invalid body encoding.');
  }
  const { z, k, iv } = enc as BodyEncoding;
  if (z !== undefined && z !== 'gzip' && z !== 'brotli') {
    throw new LlmemoError('CORRUPT_ENTRY', `The stored entry uses an unknown compression ${JSON.stringify(z)}.`);
  }
  if (
    (k === undefined) !== (iv === undefined) ||
    (k !== undefined && (typeof k !== 'string' || typeof iv !== 'string'))
  ) {
    throw new LlmemoError('CORRUPT_ENTRY', 'The stored entry has an invalid encryption header.');
  }
}
