import * as crypto from 'node:crypto';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Canonicalizer, isSkipped, sortedKeys, type TextNormalization } from './canonicalize.js';
import { LlmemoError } from './errors.js';
import { decodeLabel, escapeLabel, isWellFormed, notWellFormed } from './labels.js';
import type { CacheRequest } from './request.js';

export { escapeLabel, unescapeLabel } from './labels.js';

/**
 * Bumped whenever the canonicalization spec or the key layout changes, so old entries are never misread: they
 * simply miss. v2: data URLs and base64 are decoded only in file fields, strictly, with their media type.
 */
export const KEY_VERSION = 'v2';
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
  /**
   * With encryption on: HMAC-SHA-256 keys for the digest, the current key's first, then each previous key's (see
   * `Keyring.digestKeys`). Without them the digest is a plain SHA-256.
   */
  digestKeys?: readonly Uint8Array[] | undefined;
}

export interface DerivedKey {
  /** The full stored key: `llmemo:v2:<namespace>:<kind>:<provider>:<model>:<digest>`. */
  key: string;
  /** The digest of the canonical request (hex): SHA-256, or HMAC-SHA-256 with encryption on. */
  digest: string;
  namespace: string;
  kind: string;
  /**
   * With encryption on and previous keys configured: the keys this request had under each previous key (their
   * digests were keyed differently), for finding entries written before a rotation. Computed on demand (a miss).
   */
  previous?: () => DerivedKey[];
}

export interface KeyLabels {
  namespace: string;
  kind: string;
  provider: string;
  model: string;
  digest: string;
}

const DIGEST = /^[0-9a-f]{64}$/;

/** Splits a stored key into its labels; undefined for keys that are not ours. */
export function parseKey(key: string): KeyLabels | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const parts = key.slice(KEY_PREFIX.length).split(':');
  if (parts.length !== 5) return undefined;
  const [namespace, kind, provider, model, digest] = parts as [string, string, string, string, string];
  const labels = {
    namespace: decodeLabel(namespace),
    kind: decodeLabel(kind),
    provider: decodeLabel(provider),
    model: decodeLabel(model),
  };
  // A label escapeLabel cannot have written (or a digest that is not one) means the key is not ours.
  if (
    labels.namespace === undefined ||
    labels.kind === undefined ||
    labels.provider === undefined ||
    labels.model === undefined ||
    !DIGEST.test(digest)
  ) {
    return undefined;
  }
  return { ...(labels as Omit<KeyLabels, 'digest'>), digest };
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
  if (Object.isFrozen(params)) {
    const text = frozenParamsText(params, derivation);
    if (text !== undefined) {
      writer.raw(text);
      return;
    }
  }
  writeParamsObject(writer, params, derivation);
}

/**
 * The canonical text of params that can never change, by object and derivation: an adapter that hands core the
 * same deeply frozen params on every call (LangChain's parsed llmKey, per model and call options) gets their walk
 * once. Only plain objects, arrays and primitives, every one frozen and every property a data property: a frozen
 * object stays frozen, so its text stays what it was, and anything else (a getter, a toJSON, a class instance, a
 * mutable nested object) is walked every time.
 */
const frozenTexts = new WeakMap<KeyDerivation, WeakMap<object, string>>();

function frozenParamsText(params: Record<string, unknown>, derivation: KeyDerivation): string | undefined {
  let texts = frozenTexts.get(derivation);
  const known = texts?.get(params);
  if (known !== undefined) return known;
  if (!isDeepFrozenData(params, 0)) return undefined;
  let text = '';
  const writer = new Canonicalizer(null, {
    write(piece) {
      text += piece;
    },
  });
  writeParamsObject(writer, params, derivation);
  writer.drain();
  if (texts === undefined) {
    texts = new WeakMap();
    frozenTexts.set(derivation, texts);
  }
  texts.set(params, text);
  return text;
}

function isDeepFrozenData(value: unknown, depth: number): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (value === null || typeof value !== 'object') return true;
  if (depth > 64 || !Object.isFrozen(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false;
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(value))) {
    if (!('value' in descriptor) || !isDeepFrozenData(descriptor.value, depth + 1)) return false;
  }
  return true;
}

function writeParamsObject(writer: Canonicalizer, params: Record<string, unknown>, derivation: KeyDerivation): void {
  writer.raw('{');
  let first = true;
  for (const name of sortedKeys(params)) {
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
  // A label in the key must escape injectively (see labels.ts). Refused as unkeyable rather than thrown at the
  // caller: the model id comes from the call, and the cache must never turn a provider call into a failure.
  if (!isWellFormed(value)) {
    throw new LlmemoError('UNSERIALIZABLE_REQUEST', notWellFormed(`CacheRequest.${name}`, value));
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

/**
 * The digest of a request: SHA-256 over its canonical form (spec v2), or HMAC-SHA-256 under `key` (encryption on:
 * whoever can list key names cannot confirm a guessed prompt without the key).
 */
export function requestDigest(request: CacheRequest, derivation: KeyDerivation, key?: Uint8Array): string {
  return requestDigests(request, derivation, [key])[0]!;
}

/** The request's digests under several keys (undefined: plain SHA-256), from one walk of the request. */
export function requestDigests(
  request: CacheRequest,
  derivation: KeyDerivation,
  keys: readonly (Uint8Array | undefined)[],
): string[] {
  const sink: DigestSink = keys.length === 1 && keys[0] === undefined ? new HashSink() : new HmacSink(keys);
  writeRequest(request, derivation, sink);
  return sink.digests();
}

/**
 * The canonical document the digest is computed over, as text (`recordRequest` keeps it beside the answer so a
 * reviewer sees what was asked). `custom:<text>` under a custom key function.
 */
export function canonicalRequestText(request: CacheRequest, derivation: KeyDerivation): string {
  let text = '';
  writeRequest(request, derivation, {
    write: (piece: string) => {
      text += piece;
    },
  });
  return text;
}

/** The canonical request as an entry keeps it (`recordRequest`): the JSON document, or the custom key's text. */
export function recordedRequest(request: CacheRequest, derivation: KeyDerivation): unknown {
  const text = canonicalRequestText(request, derivation);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Streams the canonical request into `sink` (see requestDigests). */
function writeRequest(request: CacheRequest, derivation: KeyDerivation, sink: { write(text: string): void }): void {
  if (derivation.custom) {
    const custom = derivation.custom(request);
    if (typeof custom !== 'string') {
      throw new LlmemoError('UNSERIALIZABLE_REQUEST', 'The custom key function must return a string.');
    }
    sink.write(`custom:${custom}`);
    return;
  }
  const kind = requireLabel(request.kind, 'kind');
  const provider = requireLabel(request.provider, 'provider');
  const model = requireLabel(request.model, 'model');
  const spec = request.specVersion === undefined ? 'null' : JSON.stringify(String(request.specVersion));
  // The canonical document, streamed into the hash. Keys in code-unit order, as every object is written:
  // {"endpoint":…,"input":…,"kind":…,"model":…,"params":…,"provider":…,"specVersion":…}, where "endpoint" is
  // present only when the request names one.
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
}

interface DigestSink {
  write(text: string): void;
  digests(): string[];
}

const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/**
 * Hashes the canonical text. Most requests fit in one drained piece: those use the one-shot `crypto.hash` (no Hash
 * object, ~30% cheaper for a 2 KB request); larger ones stream into a Hash piece by piece.
 */
class HashSink implements DigestSink {
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

  digests(): string[] {
    if (this.hash) return [this.hash.digest('hex')];
    const text = this.first ?? '';
    return [oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex')];
  }
}

/** HMAC-SHA-256 of the canonical text under each key (a plain SHA-256 where the key is undefined). */
class HmacSink implements DigestSink {
  private readonly macs: (Hmac | Hash)[];

  constructor(keys: readonly (Uint8Array | undefined)[]) {
    this.macs = keys.map((key) => (key === undefined ? createHash('sha256') : createHmac('sha256', key)));
  }

  write(text: string): void {
    for (const mac of this.macs) mac.update(text);
  }

  digests(): string[] {
    return this.macs.map((mac) => mac.digest('hex'));
  }
}

function storedKey(request: CacheRequest, namespace: string, digest: string): string {
  return `${KEY_PREFIX}${escapeLabel(namespace)}:${escapeLabel(String(request.kind))}:${escapeLabel(String(request.provider))}:${escapeLabel(String(request.model))}:${digest}`;
}

export function deriveKey(request: CacheRequest, namespace: string, derivation: KeyDerivation): DerivedKey {
  if (request === null || typeof request !== 'object') {
    throw new LlmemoError('UNSERIALIZABLE_REQUEST', 'A CacheRequest must be an object.');
  }
  // Checked here too: a custom key function skips requestDigests' label checks.
  for (const name of ['kind', 'provider', 'model'] as const) {
    const value = String(request[name]);
    if (!isWellFormed(value))
      throw new LlmemoError('UNSERIALIZABLE_REQUEST', notWellFormed(`CacheRequest.${name}`, value));
  }
  const keys = derivation.digestKeys;
  const digest = requestDigest(request, derivation, keys?.[0]);
  const derived: DerivedKey = {
    key: storedKey(request, namespace, digest),
    digest,
    namespace,
    kind: String(request.kind),
  };
  if (keys !== undefined && keys.length > 1) {
    derived.previous = () =>
      requestDigests(request, derivation, keys.slice(1)).map((old) => ({
        key: storedKey(request, namespace, old),
        digest: old,
        namespace,
        kind: derived.kind,
      }));
  }
  return derived;
}
