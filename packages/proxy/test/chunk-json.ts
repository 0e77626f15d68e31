/**
 * Generated chat-completion chunk JSON, as upstreams write it (random legal whitespace, \u escapes, "usage" in
 * strings and nested objects), for the tests that hold the usage cut (the miss path's stripper, the hit path's
 * withoutUsage) against the parsing implementations they replaced.
 */
import { isObject } from '../src/context.js';

/** mulberry32: seeded, so a failing case can be run again from its seed. */
export function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number) => next() < p;
  return { int, pick, chance };
}
export type Random = ReturnType<typeof random>;

const PIECES = [
  'hello',
  ' world',
  '"',
  '\\',
  '\\"',
  'é',
  '你好',
  '😀',
  '\u2028',
  '\n',
  '\t',
  '\u0001',
  '"usage":null',
  ',"usage":null}',
  '{"usage":null}',
  'data: ',
  '\n\ndata: {"usage":null}\n\n',
  '}',
  '{',
  '[',
];

function content(r: Random): string {
  let out = '';
  for (let n = r.int(6); n > 0; n--) out += r.pick(PIECES);
  return out;
}

/** A JSON string as an upstream might write it: JSON.stringify's escapes, or \u escapes for some characters. */
function jsonString(r: Random, value: string): string {
  if (!r.chance(0.2)) return JSON.stringify(value);
  let out = '"';
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (char.length === 1 && (r.chance(0.3) || code < 0x20 || char === '"' || char === '\\')) {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += char;
  }
  return `${out}"`;
}

const space = (r: Random) => (r.chance(0.8) ? '' : r.pick([' ', '\t', '  ', ' \t']));

/** JSON text for a value, with random (legal) whitespace and string escapes. */
function json(r: Random, value: unknown): string {
  if (typeof value === 'string') return jsonString(r, value);
  if (Array.isArray(value))
    return `[${space(r)}${value.map((v) => json(r, v)).join(`${space(r)},${space(r)}`)}${space(r)}]`;
  if (isObject(value)) return objectText(r, Object.entries(value)).text;
  return JSON.stringify(value);
}

/**
 * An object's text, and the same text with its top-level usage member cut as the stripper cuts it; `escaped`: a
 * top-level key has escapes (the stripper then takes the parsing path).
 */
export function objectText(r: Random, members: [string, unknown][]): { text: string; cut: string; escaped: boolean } {
  const texts = members.map(([key, value]) => `${jsonString(r, key)}${space(r)}:${space(r)}${json(r, value)}`);
  const commas = members.map(() => `${space(r)},${space(r)}`);
  const open = `{${space(r)}`;
  const close = `${space(r)}}`;
  const body = (skip: number) => {
    let out = '';
    for (const [i, member] of texts.entries()) {
      if (i === skip) continue;
      // The comma before each member but the first; a cut first member takes the comma after it.
      if (i > 0 && !(skip === 0 && i === 1)) out += commas[i];
      out += member;
    }
    return out;
  };
  const usageAt = members.findIndex(([key]) => key === 'usage');
  const escaped = texts.some((member) => member.slice(0, member.indexOf('"', 1)).includes('\\'));
  return { text: open + body(-1) + close, cut: open + body(usageAt) + close, escaped };
}

export function chunkMembers(r: Random, choices: unknown[], usage: unknown): [string, unknown][] {
  const members: [string, unknown][] = [
    ['id', 'chatcmpl-abc'],
    ['object', 'chat.completion.chunk'],
    ['created', 1_700_000_000],
    ['model', 'gpt-4o-mini'],
    ['system_fingerprint', 'fp_1'],
    ['choices', choices],
  ];
  if (r.chance(0.15)) members.push(['meta', { usage: r.pick([null, { a: 1 }, 'x']) }]);
  if (usage !== undefined) members.splice(r.int(members.length + 1), 0, ['usage', usage]);
  return members;
}

export function delta(r: Random): unknown {
  if (r.chance(0.7)) return { content: content(r) };
  const args = r.chance(0.5) ? content(r) : JSON.stringify({ city: content(r), usage: null });
  return { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: args } }] };
}
