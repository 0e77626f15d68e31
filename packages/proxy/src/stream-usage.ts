import { transformed } from './chunk-body.js';
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
const DATA = Buffer.from('data:');
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A view of the bytes as a Buffer (no copy), for its memchr-backed indexOf and one element kind throughout. */
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Not Buffer.concat: its small results are views of a shared pool, and a view of one may be what push returns. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The end of the first event block in b (after its blank line: LF LF, CR CR or CRLF CRLF) among blank lines that
 * start at `from` or later, or -1. Without CR in the bytes, indexOf finds the LFs (a block has about two).
 */
function blockEnd(b: Buffer, from: number, hasCr: boolean): number {
  if (!hasCr) {
    for (let lf = b.indexOf(LF, from); lf >= 0 && lf + 1 < b.length; lf = b.indexOf(LF, lf + 1)) {
      if (b[lf + 1] === LF) return lf + 2;
    }
    return -1;
  }
  for (let i = from; i + 1 < b.length; i++) {
    const c = b[i];
    if (c === LF) {
      if (b[i + 1] === LF) return i + 2;
    } else if (c === CR) {
      if (b[i + 1] === CR) return i + 2;
      if (b[i + 1] === LF && b[i + 2] === CR && b[i + 3] === LF) return i + 4;
    }
  }
  return -1;
}

/** The end of the line starting at `start` (its CR or LF, or the block's end). */
function lineEnd(b: Buffer, start: number, end: number, hasCr: boolean): number {
  if (!hasCr) {
    const lf = b.indexOf(LF, start);
    return lf < 0 || lf > end ? end : lf;
  }
  let i = start;
  while (i < end && b[i] !== LF && b[i] !== CR) i++;
  return i;
}

function isDataLine(b: Buffer, start: number, end: number): boolean {
  if (end - start < DATA.length) return false;
  for (let k = 0; k < DATA.length; k++) if (b[start + k] !== DATA[k]) return false;
  return true;
}

/**
 * The JSON of the block's one `data:` line, as [start, end), or undefined for none or several (multi-line data,
 * which the parsing path joins).
 */
function dataSpan(b: Buffer, start: number, end: number, hasCr: boolean): [number, number] | undefined {
  let span: [number, number] | undefined;
  for (let line = start; line < end; ) {
    const stop = lineEnd(b, line, end, hasCr);
    if (isDataLine(b, line, stop)) {
      if (span !== undefined) return undefined;
      const value = line + DATA.length;
      span = [b[value] === 0x20 && value < stop ? value + 1 : value, stop];
    }
    line = b[stop] === CR && b[stop + 1] === LF ? stop + 2 : stop + 1;
  }
  return span;
}

/**
 * One event block by parsing, for what the byte scan cannot prove: the usage chunk (no choices, usage not null)
 * is dropped, other chunks lose their usage and are written again, as `data:` and the block's own line breaks.
 * Undefined: the block stays as it is (as does any block without "usage" in it, whatever else it holds).
 */
function reserialized(block: Uint8Array): Uint8Array | undefined {
  const text = decoder.decode(block);
  if (!text.includes('"usage"')) return undefined;
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
 * The client's bytes for one upstream chunk, gathered as ranges of that chunk (and the odd block written anew),
 * then copied once: most blocks lose only a few bytes from their middle.
 */
class Output {
  /** Pairs of [start, end) in the chunk; a start of -1 stands for written[end]. */
  private readonly ranges: number[] = [];
  private readonly written: Uint8Array[] = [];
  private length = 0;

  constructor(private readonly b: Buffer) {}

  keep(start: number, end: number): void {
    if (start === end) return;
    const last = this.ranges.length - 1;
    // Consecutive kept blocks are one range: a run of blocks without usage is one copy, or none.
    if (last > 0 && this.ranges[last] === start && this.ranges[last - 1]! >= 0) this.ranges[last] = end;
    else this.ranges.push(start, end);
    this.length += end - start;
  }

  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.ranges.push(-1, this.written.length);
    this.written.push(bytes);
    this.length += bytes.length;
  }

  bytes(): Uint8Array {
    const { ranges, b } = this;
    if (ranges.length === 0) return EMPTY;
    if (ranges.length === 2 && ranges[0]! >= 0) return b.subarray(ranges[0], ranges[1]);
    return this.written.length === 0 ? this.compacted() : this.assembled();
  }

  /**
   * Ranges of the chunk alone: one copy of the stretch they span, closed up in place. One allocation and native
   * moves, where a fresh array filled range by range costs about twice as much per block.
   */
  private compacted(): Uint8Array {
    const { ranges, b } = this;
    const first = ranges[0]!;
    // Not Buffer#slice, which is a view: a fresh copy (and not from Buffer's pool, which a consumer that transfers
    // chunks would detach under every other user).
    const out = Uint8Array.prototype.slice.call(b, first, ranges[ranges.length - 1]);
    let at = 0;
    for (let k = 0; k < ranges.length; k += 2) {
      const start = ranges[k]! - first;
      const end = ranges[k + 1]! - first;
      if (start !== at) out.copyWithin(at, start, end);
      at += end - start;
    }
    return at === out.length ? out : out.subarray(0, at);
  }

  /** Ranges of the chunk and blocks written anew, copied one by one into a fresh array. */
  private assembled(): Uint8Array {
    const { ranges, b } = this;
    const out = new Uint8Array(this.length);
    let at = 0;
    for (let k = 0; k < ranges.length; k += 2) {
      const start = ranges[k]!;
      const end = ranges[k + 1]!;
      if (start >= 0) {
        at += b.copy(out, at, start, end);
      } else {
        out.set(this.written[end]!, at);
        at += this.written[end]!.length;
      }
    }
    return out;
  }
}

/**
 * One event block for a client that did not ask for usage: a top-level `"usage":null` is cut out of the upstream's
 * own bytes; blocks with no top-level usage pass as they are; the rest (the usage chunk, a non-null usage,
 * multi-line data, anything that is not plain JSON) takes the parsing path.
 */
function withoutUsageBlock(b: Buffer, start: number, end: number, hasCr: boolean, out: Output): void {
  const span = dataSpan(b, start, end, hasCr);
  const member = span === undefined ? UNSURE : usageNullMember(b, span[0], span[1]);
  if (member === NO_USAGE) {
    out.keep(start, end);
  } else if (member === UNSURE) {
    const written = reserialized(b.subarray(start, end));
    if (written === undefined) out.keep(start, end);
    else out.write(written);
  } else {
    out.keep(start, member.from);
    out.keep(member.to, end);
  }
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
      const b = bufferOf(pending.length === 0 ? chunk : concat(pending, chunk));
      // A blank line needs at most 4 bytes: one may have begun in the last 3 of what was pending.
      const from = Math.max(0, pending.length - 3);
      const hasCr = b.indexOf(CR) >= 0;
      const out = new Output(b);
      let start = 0;
      for (let end = blockEnd(b, from, hasCr); end >= 0; end = blockEnd(b, end, hasCr)) {
        withoutUsageBlock(b, start, end, hasCr, out);
        start = end;
      }
      // Copied: a chunk's memory is not ours to hold on to.
      pending = start === b.length ? EMPTY : Uint8Array.prototype.slice.call(b, start);
      return out.bytes();
    },
    end() {
      if (pending.length === 0) return EMPTY;
      const b = bufferOf(pending);
      pending = EMPTY;
      const out = new Output(b);
      withoutUsageBlock(b, 0, b.length, b.indexOf(CR) >= 0, out);
      return out.bytes();
    },
  };
}

/** A client's copy of an upstream stream recorded with usage, for a client that did not ask for it. */
export function withoutUsageStream(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return transformed(stream, usageStripper());
}
