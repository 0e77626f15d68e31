import * as crypto from 'node:crypto';
import { createHash, type Hash } from 'node:crypto';
import { Canonicalizer, isSkipped, sha256Hex, type TextNormalization } from './canonicalize.js';
import { LlmemoError } from './errors.js';
import type { CacheRequest } from './request.js';

/** Bumped whenever the canonicalization spec or the key layout changes, so old entries are never misread. */
export const KEY_VERSION = 'v1';
export const KEY_PREFIX = `llmemo:${KEY_VERSION}:`;

/** Request parameters that never change a model's output: transport, credentials, tracing, our own options. */
export const DEFAULT_EXCLUDED_PARAMS: readonly string[] = Object.freeze([
  'abortSignal',
  'signal',
  'includeRawChunks',
  'timeout',
  'maxRetries',
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'user-agent',
  'requestId',
  'traceId',
  'experimental_telemetry',
]);

/** Headers that do change output (feature flags); every other header is left out of the key. */
export const DEFAULT_HEADER_ALLOWLIST: readonly string[] = Object.freeze([
  'anthropic-beta',
  'anthropic-version',
  'openai-beta',
]);

export interface KeyDerivation {
  normalization: TextNormalization | null;
  excludedParams: ReadonlySet<string>;
  headerAllowlist: ReadonlySet<string>;
  custom?: ((request: CacheRequest) => string) | undefined;
}

export interface DerivedKey {
  /** The full stored key: `llmemo:v1:<namespace>:<kind>:<provider>:<model>:<digest>`. */
  key: string;
  /** The SHA-256 digest of the canonical request (hex). */
  digest: string;
  namespace: string;
  kind: string;
}

const PLAIN_LABEL = /^[A-Za-z0-9.-]+$/;

/**
 * Escapes one key label so it holds only `[A-Za-z0-9.-]` and `~XX` escapes: no `:` (our separator), no `%` or `_`
 * (SQL LIKE wildcards), no `*?[]\` (Redis glob). A namespace or model id can then never collide with another or
 * widen a prefix purge. The empty label is `~`, which no other label can be.
 */
export function escapeLabel(label: string): string {
  if (PLAIN_LABEL.test(label)) return label;
  if (label === '') return '~';
  let out = '';
  for (const char of label) {
    if (PLAIN_LABEL.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function unescapeLabel(label: string): string {
  if (label === '~') return '';
  if (!label.includes('~')) return label;
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    if (label[i] === '~') {
      bytes.push(Number.parseInt(label.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(label.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface KeyLabels {
  namespace: string;
  kind: string;
  provider: string;
  model: string;
  digest: string;
}

/** Splits a stored key into its labels; undefined for keys that are not ours. */
export function parseKey(key: string): KeyLabels | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const parts = key.slice(KEY_PREFIX.length).split(':');
  if (parts.length !== 5) return undefined;
  const [namespace, kind, provider, model, digest] = parts as [string, string, string, string, string];
  return {
    namespace: unescapeLabel(namespace),
    kind: unescapeLabel(kind),
    provider: unescapeLabel(provider),
    model: unescapeLabel(model),
    digest,
  };
}

/** The key prefix that selects every entry matching the given leading labels (for purges and listings). */
export function keyPrefix(labels: { namespace: string; kind?: string; provider?: string; model?: string }): string {
  let prefix = `${KEY_PREFIX}${escapeLabel(labels.namespace)}:`;
  if (labels.kind === undefined) return prefix;
  prefix += `${escapeLabel(labels.kind)}:`;
  if (labels.provider === undefined) return prefix;
  prefix += `${escapeLabel(labels.provider)}:`;
  if (labels.model === undefined) return prefix;
  return `${prefix}${escapeLabel(labels.model)}:`;
}

/**
 * Writes the request params as one canonical object, leaving out what never changes output (excluded params,
 * headers off the allowlist, our own providerOptions.llmemo) without copying the params first.
 */
function writeParams(
  writer: Canonicalizer,
  params: Record<string, unknown> | undefined,
  derivation: KeyDerivation,
): void {
  if (params === undefined || params === null) {
    writer.raw('{}');
    return;
  }
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new LlmemoError('UNSERIALIZABLE_REQUEST', 'CacheRequest.params must be a plain object.');
  }
  writer.raw('{');
  let first = true;
  for (const name of Object.keys(params).sort()) {
    if (derivation.excludedParams.has(name)) continue;
    let value = params[name];
    if (name === 'headers') {
      value = pickHeaders(value, derivation.headerAllowlist);
    } else if (name === 'providerOptions' && value && typeof value === 'object' && 'llmemo' in value) {
      // Our own per-call options ride in providerOptions.llmemo and must never split keys.
      const { llmemo: _ours, ...rest } = value as Record<string, unknown>;
      value = rest;
    }
    if (isSkipped(value)) continue;
    writer.property(name, value, first);
    first = false;
  }
  writer.raw('}');
}

function pickHeaders(headers: unknown, allowlist: ReadonlySet<string>): Record<string, unknown> | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  let picked: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    const lower = name.toLowerCase();
    if (value === undefined || !allowlist.has(lower)) continue;
    picked ??= {};
    picked[lower] = value;
  }
  return picked;
}

function requireLabel(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    throw new LlmemoError('UNSERIALIZABLE_REQUEST', `CacheRequest.${name} must be a string.`);
  }
  return value;
}

const verbatimEnds = new WeakMap<TextNormalization, TextNormalization>();

/**
 * Embedding models see every character, leading and trailing whitespace included (it changes the tokens and the
 * vector), so embedding inputs keep their ends: only line endings and NFC are normalized.
 */
function normalizationFor(kind: string, normalization: TextNormalization | null): TextNormalization | null {
  if (kind !== 'embedding' || normalization === null) return normalization;
  let kept = verbatimEnds.get(normalization);
  if (!kept) {
    kept = { ...normalization, trim: false, collapseWhitespace: false };
    verbatimEnds.set(normalization, kept);
  }
  return kept;
}

/** The digest of a request: SHA-256 over its canonical form (spec v1). */
export function requestDigest(request: CacheRequest, derivation: KeyDerivation): string {
  if (derivation.custom) {
    const custom = derivation.custom(request);
    if (typeof custom !== 'string') {
      throw new LlmemoError('UNSERIALIZABLE_REQUEST', 'The custom key function must return a string.');
    }
    return sha256Hex(`custom:${custom}`);
  }
  const kind = requireLabel(request.kind, 'kind');
  const provider = requireLabel(request.provider, 'provider');
  const model = requireLabel(request.model, 'model');
  const spec = request.specVersion === undefined ? 'null' : JSON.stringify(String(request.specVersion));
  // The canonical document, streamed into the hash. Keys in code-unit order, as every object is written:
  // {"endpoint":…,"input":…,"kind":…,"model":…,"params":…,"provider":…,"specVersion":…}, where "endpoint" is
  // present only when the request names one (so requests without one keep their digests).
  const sink = new HashSink();
  const writer = new Canonicalizer(normalizationFor(kind, derivation.normalization), sink);
  if (request.endpoint === undefined) {
    writer.raw('{"input":');
  } else {
    writer.raw(`{"endpoint":${JSON.stringify(requireLabel(request.endpoint, 'endpoint'))},"input":`);
  }
  writer.top(request.input);
  writer.raw(`,"kind":${JSON.stringify(kind)},"model":${JSON.stringify(model)},"params":`);
  writer.norm = null;
  writeParams(writer, request.params, derivation);
  writer.raw(`,"provider":${JSON.stringify(provider)},"specVersion":${spec}}`);
  writer.drain();
  return sink.digest();
}

const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/**
 * Hashes the canonical text. Most requests fit in one drained piece: those use the one-shot `crypto.hash` (no Hash
 * object, ~30% cheaper for a 2 KB request); larger ones stream into a Hash piece by piece.
 */
class HashSink {
  private first: string | undefined;
  private hash: Hash | undefined;

  write(text: string): void {
    if (this.hash) {
      this.hash.update(text);
    } else if (this.first === undefined) {
      this.first = text;
    } else {
      // Not the Hash as the sink itself: its write() is the stream API, many times slower than update().
      this.hash = createHash('sha256').update(this.first).update(text);
      this.first = undefined;
    }
  }

  digest(): string {
    if (this.hash) return this.hash.digest('hex');
    const text = this.first ?? '';
    return oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
  }
}

export function deriveKey(request: CacheRequest, namespace: string, derivation: KeyDerivation): DerivedKey {
  if (request === null || typeof request !== 'object') {
    throw new LlmemoError('UNSERIALIZABLE_REQUEST', 'A CacheRequest must be an object.');
  }
  const digest = requestDigest(request, derivation);
  const key = `${KEY_PREFIX}${escapeLabel(namespace)}:${escapeLabel(String(request.kind))}:${escapeLabel(String(request.provider))}:${escapeLabel(String(request.model))}:${digest}`;
  return { key, digest, namespace, kind: String(request.kind) };
}
