import { describe, expect, it } from 'vitest';
import { withoutUsage } from '../src/stored-usage.js';
import { chunkMembers, delta, objectText, type Random, random } from './chunk-json.js';

type Json = Record<string, unknown>;

/**
 * The implementation this replaced (JSON.parse + delete + JSON.stringify for every event that mentions usage),
 * kept as the oracle: the new one must give the same events.
 */
function oldWithoutUsage(events: readonly string[]): string[] {
  const out: string[] = [];
  for (const event of events) {
    if (!event.includes('"usage"')) {
      out.push(event);
      continue;
    }
    const chunk = JSON.parse(event) as Json;
    // The one change kept on purpose: only the usage chunk is dropped (the old rule also dropped a chunk with no
    // choices and `usage: null`, which the miss path has always kept).
    if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage != null) continue;
    delete chunk.usage;
    out.push(JSON.stringify(chunk));
  }
  return out;
}

interface Stored {
  event: string;
  /** Dropped: the usage chunk (no choices, a usage that is not null). */
  dropped: boolean;
  /** The exact text withoutUsage should give where the scan can prove it: the stored text with the member cut. */
  expected?: string;
}

function storedEvent(r: Random, choices: unknown[], usage: unknown): Stored {
  const { text, cut, escaped } = objectText(r, chunkMembers(r, choices, usage));
  // Multi-line data, as SseRecorder joins it: a line break is JSON whitespace the scan does not take.
  const event = r.chance(0.05) ? text.replace(',', ',\n') : text;
  // An escaped key that spells usage, with no literal "usage" in the text, passes whole (as it always did).
  if (!event.includes('"usage"')) return { event, dropped: false, expected: event };
  if (choices.length === 0 && usage != null) return { event, dropped: true };
  if (usage === null && !escaped && event === text) return { event, dropped: false, expected: cut };
  return { event, dropped: false };
}

/** A stored stream as SseRecorder keeps it: one event's JSON text each, recorded with usage (most of the time). */
function storedStream(r: Random): Stored[] {
  const withUsage = r.chance(0.9);
  const events: Stored[] = [];
  // Azure's first chunk: no choices (prompt filter results), with usage null when usage was asked for.
  if (r.chance(0.1)) events.push(storedEvent(r, [], withUsage ? null : undefined));
  for (let n = 1 + r.int(12); n > 0; n--) {
    const usage = !withUsage ? undefined : r.chance(0.05) ? { total_tokens: 3 } : null;
    events.push(storedEvent(r, [{ index: 0, delta: delta(r), logprobs: null, finish_reason: null }], usage));
  }
  if (withUsage) events.push(storedEvent(r, [], { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }));
  return events;
}

const parsed = (events: readonly string[]) => events.map((event) => JSON.parse(event) as unknown);

describe('withoutUsage: generated stored streams against the parsing implementation it replaced', () => {
  it('gives the same events, and the stored text with only the top-level usage member cut', () => {
    let cuts = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const r = random(seed);
      const stored = storedStream(r);
      const events = stored.map((s) => s.event);
      const out = withoutUsage(events);
      const context = `seed ${seed}`;
      expect(parsed(out), context).toEqual(parsed(oldWithoutUsage(events)));
      // Each event the scan could prove is the stored text minus the member, every other character as it was.
      const kept = stored.filter((s) => !s.dropped);
      expect(out, context).toHaveLength(kept.length);
      for (const [i, s] of kept.entries()) {
        if (s.expected === undefined) continue;
        expect(out[i], `${context}, event ${i}`).toBe(s.expected);
        if (s.expected !== s.event) cuts++;
      }
    }
    // Most generated chunks have some key written with \u escapes (which the scan leaves to parsing); enough do not.
    expect(cuts).toBeGreaterThan(3_000);
  });
});

describe('withoutUsage', () => {
  const chunk = (members: string) =>
    `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"}}]${members}}`;

  it('cuts the top-level "usage":null and keeps every other character (number spellings too)', () => {
    expect(withoutUsage([chunk(',"usage":null')])).toEqual([chunk('')]);
    expect(withoutUsage(['{"usage":null,"created":1.0e3,"choices":[{}]}'])).toEqual([
      '{"created":1.0e3,"choices":[{}]}',
    ]);
    expect(withoutUsage(['{ "a":1 , "usage" : null }'])).toEqual(['{ "a":1 }']);
  });

  it('finds the cut in the text by its UTF-8 offsets: multi-byte characters, surrogate pairs, lone surrogates', () => {
    for (const content of ['héllo', '你好', '😀 and 😀', 'a\ud800b', '\udc00', '\u2028']) {
      // JSON.stringify escapes a lone surrogate; an upstream may send it raw (JSON.parse takes both).
      const text = JSON.stringify({ content }).replace(/\\ud[89a-f][0-9a-f]{2}/g, (unit) => JSON.parse(`"${unit}"`));
      const first = `{"usage":null,"delta":${text},"n":1}`;
      expect(withoutUsage([first]), content).toEqual([`{"delta":${text},"n":1}`]);
      const last = `{"delta":${text},"usage":null}`;
      expect(withoutUsage([last]), content).toEqual([`{"delta":${text}}`]);
    }
  });

  it('drops the usage chunk, and keeps a chunk with no choices and usage null (as the miss path does)', () => {
    const usage = '{"id":"c","choices":[],"usage":{"prompt_tokens":1,"total_tokens":2}}';
    expect(withoutUsage([chunk(',"usage":null'), usage])).toEqual([chunk('')]);
    expect(withoutUsage(['{"id":"c","choices":[ ],"usage":null}'])).toEqual(['{"id":"c","choices":[ ]}']);
  });

  it('leaves a nested usage and usage inside strings alone', () => {
    const nested = chunk(',"meta":{"usage":null},"x":[{"usage":null}]');
    expect(withoutUsage([nested])).toEqual([nested]);
    const content = JSON.stringify('a "usage":null and ,"usage":null} and \\"usage\\":null');
    const inString = `{"choices":[{"delta":{"content":${content}}}],"usage":null}`;
    expect(withoutUsage([inString])).toEqual([`{"choices":[{"delta":{"content":${content}}}]}`]);
  });

  it('parses what the scan cannot prove: a non-null usage, escaped keys, two usage keys, multi-line data', () => {
    expect(JSON.parse(withoutUsage([chunk(',"usage":{"total_tokens":3}')])[0]!)).toEqual(JSON.parse(chunk('')));
    expect(JSON.parse(withoutUsage(['{"us\\u0061ge":null,"usage":null,"a":1}'])[0]!)).toEqual({ a: 1 });
    expect(JSON.parse(withoutUsage(['{"usage":null,"a":1,"usage":null}'])[0]!)).toEqual({ a: 1 });
    expect(JSON.parse(withoutUsage(['{"a":1,\n"usage":null}'])[0]!)).toEqual({ a: 1 });
  });

  it('passes an event that is not JSON as it was (the parsing implementation threw)', () => {
    expect(withoutUsage(['{"usage":null,}', 'not "usage" JSON'])).toEqual(['{"usage":null,}', 'not "usage" JSON']);
  });
});
