// Issue 12's candidate canonicalizer, measured in `pnpm bench core` against core's one-pass writer: normalize the
// request in a pre-pass (a new tree of plain values), serialize that with safe-stable-stringify, hash. It gives
// the same digest as core for requests without binary data (checked by the bench before timing it); bytes and file
// fields, which core writes as raw tokens no JSON serializer emits, are left out of this prototype.
import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';

const TEXT_KEYS = new Set(['text', 'content', 'prompt', 'system', 'instructions']);
const EXCLUDED = new Set([
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
const HEADERS = new Set(['anthropic-beta', 'anthropic-version', 'openai-beta']);

interface Norm {
  trim: boolean;
}

function text(value: string, prose: boolean, norm: Norm | null): string {
  if (norm === null) return value;
  let out = value.indexOf('\r') === -1 ? value : value.replace(/\r\n?/g, '\n');
  if (Buffer.byteLength(out) !== out.length) out = out.normalize('NFC');
  return prose && norm.trim ? out.trim() : out;
}

function normalize(value: unknown, prose: boolean, norm: Norm | null): unknown {
  if (typeof value === 'string') return text(value, prose, norm);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof AbortSignal) return undefined;
  if (Array.isArray(value)) return value.map((item) => normalize(item, prose, norm));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof URL) return value.href;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) out[key] = normalize(item, TEXT_KEYS.has(key), norm);
  }
  return out;
}

function params(value: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value ?? {})) {
    if (EXCLUDED.has(name) || item === undefined) continue;
    if (name === 'headers' && item && typeof item === 'object') {
      const picked: Record<string, unknown> = {};
      for (const [header, v] of Object.entries(item))
        if (HEADERS.has(header.toLowerCase())) picked[header.toLowerCase()] = v;
      out.headers = picked;
    } else if (name === 'providerOptions' && item && typeof item === 'object' && 'llmemo' in item) {
      const { llmemo: _ours, ...rest } = item as Record<string, unknown>;
      out[name] = normalize(rest, false, null);
    } else {
      out[name] = normalize(item, false, null);
    }
  }
  return out;
}

/** sha256(safe-stable-stringify(normalized request)): the digest core's writer computes, by the other route. */
export function prepassDigest(request: {
  kind: string;
  provider: string;
  model: string;
  specVersion?: string;
  input: unknown;
  params?: Record<string, unknown>;
}): string {
  const norm = request.kind === 'embedding' ? { trim: false } : { trim: true };
  const input = request.input;
  const document = {
    input:
      typeof input === 'string'
        ? text(input, true, norm)
        : Array.isArray(input)
          ? input.map((item) => normalize(item, true, norm))
          : normalize(input, false, norm),
    kind: request.kind,
    model: request.model,
    params: params(request.params),
    provider: request.provider,
    specVersion: request.specVersion ?? null,
  };
  return createHash('sha256')
    .update(stringify(document) as string)
    .digest('hex');
}
