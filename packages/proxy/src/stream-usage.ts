import { isObject, type Json } from './context.js';
import { toJson } from './json-body.js';

const USAGE_OPTION = new TextEncoder().encode('"stream_options":{"include_usage":true},');

/**
 * The body to send upstream for a recorded stream: with `stream_options.include_usage`, so the entry has usage
 * and can answer a plain request too. A body without `stream_options` gets it spliced in after its opening brace,
 * leaving every other byte as the client sent it; one with other stream options is re-serialized (exactly: big
 * integers stay as they were).
 */
export function withUsageRequested(raw: Uint8Array, body: Json): Uint8Array {
  const options = body.stream_options;
  if (isObject(options) && options.include_usage === true) return raw;
  if (options === undefined) {
    const at = raw.indexOf(0x7b);
    if (at < 0) return raw;
    return Buffer.concat([raw.subarray(0, at + 1), USAGE_OPTION, raw.subarray(at + 1)]);
  }
  if (options !== null && !isObject(options)) return raw;
  return Buffer.from(toJson({ ...body, stream_options: { ...(options ?? {}), include_usage: true } }));
}

/** The event block's end (after its blank line), or -1: events end with LF LF, CR CR or CRLF CRLF. */
function blockEnd(text: string): number {
  let end = -1;
  for (const separator of ['\n\n', '\r\n\r\n', '\r\r']) {
    const at = text.indexOf(separator);
    if (at >= 0 && (end < 0 || at + separator.length < end)) end = at + separator.length;
  }
  return end;
}

/**
 * One event block for a client that did not ask for usage: the usage chunk (no choices) is dropped, and the
 * `usage: null` other chunks carry is removed, as the upstream would have sent them. Blocks that mention no usage
 * pass byte for byte.
 */
function withoutUsageBlock(block: string): string {
  if (!block.includes('"usage"')) return block;
  const data: string[] = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
  }
  let chunk: unknown;
  try {
    chunk = JSON.parse(data.join('\n'));
  } catch {
    return block;
  }
  if (!isObject(chunk) || !('usage' in chunk)) return block;
  if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== null) return '';
  delete chunk.usage;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** Takes usage back out of a stream recorded with it, chunk by chunk, for a client that did not ask for it. */
export interface UsageStripper {
  /** The client's bytes for this upstream chunk (possibly empty: a block may be incomplete, or dropped). */
  push(chunk: Uint8Array): Uint8Array;
  /** What remains at the end of the stream (possibly empty). */
  end(): Uint8Array;
}

export function usageStripper(): UsageStripper {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = '';
  const take = (final: boolean): Uint8Array => {
    let out = '';
    for (let end = blockEnd(buffer); end >= 0; end = blockEnd(buffer)) {
      out += withoutUsageBlock(buffer.slice(0, end));
      buffer = buffer.slice(end);
    }
    if (final && buffer !== '') {
      out += withoutUsageBlock(buffer);
      buffer = '';
    }
    return encoder.encode(out);
  };
  return {
    push(chunk) {
      buffer += decoder.decode(chunk, { stream: true });
      return take(false);
    },
    end() {
      buffer += decoder.decode();
      return take(true);
    },
  };
}
