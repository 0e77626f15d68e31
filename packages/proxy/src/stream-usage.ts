import { isObject, type Json } from './context.js';
import { toJson } from './json-body.js';
import { NO_USAGE, UNSURE, usageNullMember } from './usage-member.js';

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

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);
const USAGE_KEY = Buffer.from('"usage"');
const DATA = Buffer.from('data:');
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The end of the first event block in bytes (after its blank line: LF LF, CR CR or CRLF CRLF), looking for blank
 * lines that start at `from` or later, or -1.
 */
function blockEnd(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) {
    const c = bytes[i];
    if (c === LF) {
      if (bytes[i + 1] === LF) return i + 2;
    } else if (c === CR) {
      if (bytes[i + 1] === CR) return i + 2;
      if (bytes[i + 1] === LF && bytes[i + 2] === CR && bytes[i + 3] === LF) return i + 4;
    }
  }
  return -1;
}

/** The end of the line starting at `start` (its CR or LF, or the block's end). */
function lineEnd(block: Uint8Array, start: number, hasCr: boolean): number {
  if (!hasCr) {
    const lf = block.indexOf(LF, start);
    return lf < 0 ? block.length : lf;
  }
  let i = start;
  while (i < block.length && block[i] !== LF && block[i] !== CR) i++;
  return i;
}

function isDataLine(block: Uint8Array, start: number, end: number): boolean {
  if (end - start < DATA.length) return false;
  for (let k = 0; k < DATA.length; k++) if (block[start + k] !== DATA[k]) return false;
  return true;
}

/** The JSON of the block's one `data:` line, as [start, end), or undefined for none or several (multi-line data). */
function dataSpan(block: Uint8Array): [number, number] | undefined {
  const hasCr = block.indexOf(CR) >= 0;
  let span: [number, number] | undefined;
  for (let start = 0; start < block.length; ) {
    const end = lineEnd(block, start, hasCr);
    if (isDataLine(block, start, end)) {
      if (span !== undefined) return undefined;
      const value = start + DATA.length;
      span = [block[value] === 0x20 ? value + 1 : value, end];
    }
    start = block[end] === CR && block[end + 1] === LF ? end + 2 : end + 1;
  }
  return span;
}

/**
 * One event block by parsing, for what the byte scan cannot prove: the usage chunk (no choices, usage not null)
 * is dropped, other chunks lose their usage and are written again, as `data:` and the block's own line breaks.
 * Undefined: the block stays as it is.
 */
function reserialized(block: Uint8Array): Uint8Array | undefined {
  const text = decoder.decode(block);
  const data: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
  }
  let chunk: unknown;
  try {
    chunk = JSON.parse(data.join('\n'));
  } catch {
    return undefined;
  }
  if (!isObject(chunk) || !('usage' in chunk)) return undefined;
  if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== null) return EMPTY;
  delete chunk.usage;
  const breaks = /[\r\n]*$/.exec(text)?.[0] ?? '';
  return encoder.encode(`data: ${JSON.stringify(chunk)}${breaks}`);
}

/**
 * One event block for a client that did not ask for usage, as the parts of its bytes to send: blocks that mention
 * no usage, or no top-level usage, pass as they are; a top-level `"usage":null` is cut out of the upstream's own
 * bytes; the rest (the usage chunk, a non-null usage, multi-line data) takes the parsing path.
 */
function withoutUsageBlock(block: Uint8Array, parts: Uint8Array[]): void {
  if (Buffer.from(block.buffer, block.byteOffset, block.byteLength).indexOf(USAGE_KEY) < 0) {
    parts.push(block);
    return;
  }
  const span = dataSpan(block);
  const member = span === undefined ? UNSURE : usageNullMember(block, span[0], span[1]);
  if (member === NO_USAGE) parts.push(block);
  else if (member === UNSURE) parts.push(reserialized(block) ?? block);
  else parts.push(block.subarray(0, member.from), block.subarray(member.to));
}

function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  if (length === 0) return EMPTY;
  // Not Buffer.concat: its small results share a pooled ArrayBuffer, which a consumer that transfers chunks would
  // detach under every other user.
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export interface UsageStripper {
  /** The client's bytes for this upstream chunk (possibly empty: a block may be incomplete, or dropped). */
  push(chunk: Uint8Array): Uint8Array;
  /** What remains at the end of the stream (possibly empty). */
  end(): Uint8Array;
}

/**
 * Usage taken out of a stream recorded with it, chunk by chunk, for a client that did not ask for it: the usage
 * chunk is dropped and the `"usage":null` on every other chunk removed, as the upstream would have sent them.
 * Blocks are cut at their blank lines as bytes, so a block or a UTF-8 character split across chunks waits whole;
 * an unfinished block at the end goes out as it came (an SSE client drops it, as it would the upstream's).
 */
export function usageStripper(): UsageStripper {
  let pending: Uint8Array = EMPTY;
  return {
    push(chunk) {
      if (chunk.length === 0) return EMPTY;
      const bytes = pending.length === 0 ? chunk : joined([pending, chunk]);
      // A blank line needs at most 4 bytes: one may have begun in the last 3 of what was pending.
      const from = Math.max(0, pending.length - 3);
      const parts: Uint8Array[] = [];
      let start = 0;
      for (let end = blockEnd(bytes, from); end >= 0; end = blockEnd(bytes, end)) {
        withoutUsageBlock(bytes.subarray(start, end), parts);
        start = end;
      }
      pending = bytes.subarray(start);
      return parts.length === 0 ? EMPTY : joined(parts);
    },
    end() {
      const rest = pending;
      pending = EMPTY;
      if (rest.length === 0) return EMPTY;
      const parts: Uint8Array[] = [];
      withoutUsageBlock(rest, parts);
      return joined(parts);
    },
  };
}

/** A client's copy of an upstream stream recorded with usage, for a client that did not ask for it. */
export function withoutUsageStream(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const stripper = usageStripper();
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const out = stripper.push(chunk);
        if (out.length > 0) controller.enqueue(out);
      },
      flush(controller) {
        const out = stripper.end();
        if (out.length > 0) controller.enqueue(out);
      },
    }),
  );
}
