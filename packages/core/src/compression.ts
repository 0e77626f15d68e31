import { promisify } from 'node:util';
import { brotliCompress, brotliDecompressSync, constants, gunzipSync, gzip } from 'node:zlib';
import { LlmemoError } from './errors.js';

export type CompressionAlgorithm = 'gzip' | 'brotli';

export interface CompressionSettings {
  algorithm: CompressionAlgorithm;
  /** Bodies smaller than this many bytes are stored as they are. Default 1024. */
  threshold?: number;
}

export type CompressionOption = CompressionAlgorithm | CompressionSettings | false;

export interface Compression {
  algorithm: CompressionAlgorithm;
  threshold: number;
}

export const DEFAULT_COMPRESSION_THRESHOLD = 1024;
/** A stored body never inflates past this: a corrupt or hostile entry cannot exhaust memory. */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export function resolveCompression(option: unknown): Compression | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === 'gzip' || option === 'brotli') return { algorithm: option, threshold: DEFAULT_COMPRESSION_THRESHOLD };
  if (option && typeof option === 'object' && !Array.isArray(option)) {
    const { algorithm, threshold, ...rest } = option as Partial<CompressionSettings>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `compression has no option '${unknown}'; use 'algorithm' and 'threshold'.`,
      );
    }
    if (algorithm !== 'gzip' && algorithm !== 'brotli') {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `compression.algorithm must be 'gzip' or 'brotli'; got ${JSON.stringify(algorithm)}.`,
      );
    }
    if (threshold !== undefined && (!Number.isInteger(threshold) || threshold < 0)) {
      throw new LlmemoError(
        'INVALID_OPTIONS',
        `compression.threshold must be a non-negative integer (bytes); got ${JSON.stringify(threshold)}.`,
      );
    }
    return { algorithm, threshold: threshold ?? DEFAULT_COMPRESSION_THRESHOLD };
  }
  throw new LlmemoError(
    'INVALID_OPTIONS',
    `compression must be 'gzip', 'brotli', { algorithm, threshold } or false; got ${JSON.stringify(option)}.`,
  );
}

/**
 * Compresses on the libuv thread pool: writes are off the caller's path, and a large body must not block the event
 * loop. Brotli runs at quality 5: the default (11) is ~20x slower for a few percent on text this size.
 */
export function compress(algorithm: CompressionAlgorithm, data: Buffer): Promise<Buffer> {
  if (algorithm === 'gzip') return gzipAsync(data);
  return brotliAsync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

/**
 * Decompresses synchronously: it runs on a hit, where a thread-pool round trip would cost more than inflating a
 * typical response (tens of microseconds).
 */
export function decompress(algorithm: CompressionAlgorithm, data: Buffer): Buffer {
  try {
    return algorithm === 'gzip'
      ? gunzipSync(data, { maxOutputLength: MAX_INFLATED_BYTES })
      : brotliDecompressSync(data, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (error) {
    throw new LlmemoError('CORRUPT_ENTRY', `The stored entry could not be decompressed (${algorithm}).`, {
      cause: error,
    });
  }
}
