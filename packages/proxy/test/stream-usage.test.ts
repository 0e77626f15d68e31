import { describe, expect, it } from 'vitest';
import { isObject } from '../src/context.js';
import { usageStripper, withoutUsageStream } from '../src/stream-usage.js';
import { NO_USAGE, UNSURE, usageNullMember } from '../src/usage-member.js';
import { chunkMembers, delta, objectText, type Random, random } from './chunk-json.js';

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/**
 * The implementation this replaced (TextDecoder, JSON.parse + delete + JSON.stringify per block that mentions
 * usage), kept as the oracle: the new one must give the same events.
 */
function oldWithoutUsage(chunks: readonly Uint8Array[]): string {
  const blockEnd = (buffer: string): number => {
    let end = -1;
    for (const separator of ['\n\n', '\r\n\r\n', '\r\r']) {
      const at = buffer.indexOf(separator);
      if (at >= 0 && (end < 0 || at + separator.length < end)) end = at + separator.length;
    }
    return end;
  };
  const block = (block: string): string => {
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
  };
  const decoder = new TextDecoder();
  let buffer = '';
  let out = '';
  const take = (final: boolean) => {
    for (let end = blockEnd(buffer); end >= 0; end = blockEnd(buffer)) {
      out += block(buffer.slice(0, end));
      buffer = buffer.slice(end);
    }
    if (final && buffer !== '') {
      out += block(buffer);
      buffer = '';
    }
  };
  for (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    take(false);
  }
  buffer += decoder.decode();
  take(true);
  return out;
}

function strip(chunks: readonly Uint8Array[]): Uint8Array {
  const stripper = usageStripper();
  const parts = chunks.map((chunk) => stripper.push(chunk));
  parts.push(stripper.end());
  return Buffer.concat(parts);
}

const stripText = (...chunks: string[]) => text(strip(chunks.map(bytes)));

/** The events an SSE client dispatches (per the spec: LF, CR or CRLF lines, comments skipped), data parsed. */
function events(stream: string): unknown[] {
  const out: unknown[] = [];
  let data: string[] = [];
  const lines = stream.split(/\r\n|\r|\n/);
  // The last piece is not a line (it had no line break): an unfinished line, which a client drops.
  lines.pop();
  for (const line of lines) {
    if (line === '') {
      if (data.length > 0) out.push(parsed(data.join('\n')));
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
    }
  }
  return out;
}

function parsed(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

interface Block {
  bytes: string;
  /** What the stripper should send for it. */
  expected: string;
}

function block(r: Random, data: string[], eol: string): string {
  const comment = r.chance(0.1) ? `: ${r.pick(['keep-alive', '"usage":null'])}${eol}` : '';
  const lines = data.map((line) => `data:${r.chance(0.8) ? ' ' : ''}${line}${eol}`);
  return `${comment}${lines.join('')}${eol}`;
}

/** A chunk written again by the parsing path, as the stripper does for what its scan cannot prove. */
function reserializedText(dataText: string, eol: string): string {
  const { usage: _usage, ...rest } = JSON.parse(dataText) as Record<string, unknown>;
  return `data: ${JSON.stringify(rest)}${eol}${eol}`;
}

function deltaBlock(r: Random, eol: string, usage: unknown): Block {
  const choice = { index: 0, delta: delta(r), logprobs: null, finish_reason: null };
  const { text: dataText, cut, escaped } = objectText(r, chunkMembers(r, [choice], usage));
  if (usage === null && !escaped && r.chance(0.05)) {
    // Multi-line data: split at a comma outside strings, where JSON allows a line break.
    const at = dataText.indexOf(',"object"');
    if (at > 0) {
      const lines = [dataText.slice(0, at + 1), dataText.slice(at + 1)];
      return { bytes: block(r, lines, eol), expected: reserializedText(dataText, eol) };
    }
  }
  const bytes = block(r, [dataText], eol);
  // A block without the literal "usage" passes whole, even when an escaped key spells it (as it always did).
  if (usage === undefined || !bytes.includes('"usage"')) return { bytes, expected: bytes };
  if (usage !== null || escaped) return { bytes, expected: reserializedText(dataText, eol) };
  return { bytes, expected: bytes.replace(dataText, () => cut) };
}

function stream(r: Random): Block[] {
  const eol = () => r.pick(['\n', '\n', '\r\n', '\r']);
  const withUsage = r.chance(0.9);
  const blocks: Block[] = [];
  for (let n = 1 + r.int(12); n > 0; n--) {
    if (r.chance(0.1)) {
      const end = eol();
      const comment = `: keep-alive${end}${end}`;
      blocks.push({ bytes: comment, expected: comment });
    }
    const usage = !withUsage ? undefined : r.chance(0.05) ? { total_tokens: 3 } : null;
    blocks.push(deltaBlock(r, eol(), usage));
  }
  if (withUsage) {
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    const { text: dataText } = objectText(r, chunkMembers(r, [], usage));
    const bytes = block(r, [dataText], eol());
    blocks.push({ bytes, expected: bytes.includes('"usage"') ? '' : bytes });
  }
  const done = block(r, ['[DONE]'], eol());
  blocks.push({ bytes: done, expected: done });
  return blocks;
}

/** The stream's bytes cut into chunks: at random offsets (inside multi-byte characters too), per block, or per byte. */
function chunked(r: Random, blocks: Block[]): Uint8Array[] {
  const all = bytes(blocks.map((b) => b.bytes).join(''));
  const mode = r.int(10);
  if (mode === 0) return blocks.map((b) => bytes(b.bytes));
  if (mode === 1) return [...all].map((byte) => Uint8Array.of(byte));
  const cuts = new Set<number>();
  for (let n = r.int(8); n > 0; n--) cuts.add(1 + r.int(all.length - 1));
  const at = [0, ...[...cuts].sort((a, b) => a - b), all.length];
  return at.slice(1).map((end, i) => all.subarray(at[i], end));
}

describe('usageStripper: generated streams against the parsing implementation it replaced', () => {
  it('gives the same events, and the upstream bytes with only the top-level usage member cut', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const r = random(seed);
      const blocks = stream(r);
      const chunks = chunked(r, blocks);
      const out = text(strip(chunks));
      const context = `seed ${seed}`;
      expect(events(out), context).toEqual(events(oldWithoutUsage(chunks)));
      expect(out, context).toBe(blocks.map((b) => b.expected).join(''));
    }
  });
});

describe('usageStripper', () => {
  const chunk = (members: string) =>
    `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"}}]${members}}\n\n`;

  it('cuts the top-level "usage":null and nothing else', () => {
    expect(stripText(chunk(',"usage":null'))).toBe(chunk(''));
    expect(stripText('data: {"usage":null,"a":1}\n\n')).toBe('data: {"a":1}\n\n');
    expect(stripText('data: { "usage" : null , "a":1}\n\n')).toBe('data: { "a":1}\n\n');
    expect(stripText('data: {"a":1 , "usage" : null }\n\n')).toBe('data: {"a":1 }\n\n');
    expect(stripText('data: {"usage":null}\r\n\r\n')).toBe('data: {}\r\n\r\n');
  });

  it('leaves a usage key in a nested object alone', () => {
    const nested = chunk(',"meta":{"usage":null},"x":[{"usage":null}]');
    expect(stripText(nested)).toBe(nested);
    expect(stripText(chunk(',"meta":{"usage":null},"usage":null'))).toBe(chunk(',"meta":{"usage":null}'));
  });

  it('leaves "usage":null inside strings alone, escaped quotes and all', () => {
    const content = JSON.stringify('a "usage":null and ,"usage":null} and \\"usage\\":null');
    const block = `data: {"choices":[{"delta":{"content":${content}}}],"usage":null}\n\n`;
    expect(stripText(block)).toBe(`data: {"choices":[{"delta":{"content":${content}}}]}\n\n`);
    const args = `data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\\"usage\\":null}"}}]}}]}\n\n`;
    expect(stripText(args)).toBe(args);
  });

  it('drops the usage chunk, whatever surrounds it', () => {
    const usage = 'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1,"total_tokens":2}}\n\n';
    expect(stripText(chunk(',"usage":null'), usage, 'data: [DONE]\n\n')).toBe(`${chunk('')}data: [DONE]\n\n`);
    expect(stripText(usage.replace('\n\n', '\r\r'))).toBe('');
  });

  it('takes a non-null usage off a chunk that has choices, keeping the chunk', () => {
    const out = stripText(chunk(',"usage":{"total_tokens":3}'));
    expect(JSON.parse(out.slice(6))).toEqual(JSON.parse(chunk('').slice(6)));
  });

  it('takes the parsing path for what the scan cannot prove: escaped keys, two usage keys', () => {
    const escaped = stripText('data: {"us\\u0061ge":null,"a":{"usage":1}}\n\n');
    expect(JSON.parse(escaped.slice(6))).toEqual({ a: { usage: 1 } });
    expect(JSON.parse(stripText('data: {"usage":null,"a":1,"usage":null}\n\n').slice(6))).toEqual({ a: 1 });
  });

  it('passes what is not a JSON object, or not JSON, byte for byte', () => {
    for (const block of [
      'data: {"usage":null,}\n\n',
      'data: {"usage":null} x\n\n',
      'data: ["usage",null]\n\n',
      'data: {"a":"\u0001","usage":null}\n\n',
      ': "usage":null\n\n',
      'data: [DONE]\n\n',
    ]) {
      expect(stripText(block)).toBe(block);
    }
  });

  it('gives the same bytes however the stream is cut, inside CRLFs and multi-byte characters too', () => {
    const stream = `${chunk(',"usage":null').replace('"x"', '"héllo 🌍"').replaceAll('\n', '\r\n')}data: [DONE]\r\n\r\n`;
    const whole = stripText(stream);
    expect(whole).toBe(stream.replace(',"usage":null', ''));
    const all = bytes(stream);
    for (let cut = 1; cut < all.length; cut++) {
      for (const second of [cut + 1, cut + 3]) {
        const parts = [all.subarray(0, cut), all.subarray(cut, second), all.subarray(second)];
        expect(text(strip(parts)), `cuts at ${cut}, ${second}`).toBe(whole);
      }
    }
  });

  it('cuts by the bytes when the line breaks of a block came in an earlier chunk (CR there, LF here)', () => {
    expect(stripText(': c\rdata: {"usage":null,"a":1}', '\n\n')).toBe(': c\rdata: {"a":1}\n\n');
    expect(stripText('data: {"a":1,"usage":null}\r', '\r')).toBe('data: {"a":1}\r\r');
  });

  it('sends an unfinished last block as it came (an SSE client drops it, as it would the upstream one)', () => {
    expect(stripText('data: {"a":1,"usage":null}')).toBe('data: {"a":1}');
    expect(stripText('data: {"choices":[],"usage":{"total_tokens":1}}')).toBe('');
  });

  it('returns nothing for a chunk that completes no block, and the block once it completes', () => {
    const stripper = usageStripper();
    expect(stripper.push(bytes('data: {"usage":nu'))).toHaveLength(0);
    expect(text(stripper.push(bytes('ll}\n')))).toBe('');
    expect(text(stripper.push(bytes('\ndata: {"a":1}\n\n')))).toBe('data: {}\n\ndata: {"a":1}\n\n');
    expect(stripper.end()).toHaveLength(0);
  });
});

describe('withoutUsageStream', () => {
  it('is the stripper over a stream, and enqueues no empty chunks', async () => {
    const input = [
      'data: {"usage":null,"a":1}\n',
      '\n',
      'data: {"choices":[],"usage":{"t":1}}\n\n',
      'data: [DONE]\n\n',
    ];
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of input) controller.enqueue(bytes(part));
        controller.close();
      },
    });
    const reader = withoutUsageStream(source).getReader();
    const chunks: string[] = [];
    for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(text(read.value));
    expect(chunks).toEqual(['data: {"a":1}\n\n', 'data: [DONE]\n\n']);
  });
});

describe('usageNullMember: exact where JSON.parse is', () => {
  /** Generated chunk JSON, then mangled by a few byte edits: the scan must never claim what JSON.parse denies. */
  it('answers only for text JSON.parse accepts, and its cut is JSON.parse then delete', () => {
    const alphabet = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', 'u', 'n', '0', '-', '.', 'e', '\u0001', 'é'];
    let answered = 0;
    let cuts = 0;
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = random(seed);
      const usage = r.pick([null, null, undefined, { total_tokens: 1 }]);
      let source = objectText(r, chunkMembers(r, [{ index: 0, delta: delta(r) }], usage)).text;
      for (let n = r.int(3); n > 0; n--) {
        const at = r.int(source.length);
        source = source.slice(0, at) + (r.chance(0.5) ? r.pick(alphabet) : '') + source.slice(at + 1);
      }
      const b = bytes(source);
      const member = usageNullMember(b, 0, b.length);
      if (member === UNSURE) continue;
      answered++;
      const decoded = text(b);
      const value = JSON.parse(decoded) as Record<string, unknown>;
      const context = `seed ${seed}: ${decoded}`;
      if (member === NO_USAGE) {
        expect(Object.hasOwn(value, 'usage'), context).toBe(false);
        continue;
      }
      cuts++;
      expect(value.usage, context).toBeNull();
      delete value.usage;
      const cut = text(Buffer.concat([b.subarray(0, member.from), b.subarray(member.to)]));
      expect(JSON.parse(cut), context).toEqual(value);
    }
    expect(answered).toBeGreaterThan(2_000);
    expect(cuts).toBeGreaterThan(500);
  });
});
