import { describe, expect, it } from 'vitest';
import { checkStream, eventsToCompletion } from '../src/chat-format.js';
import { recordStreamed } from '../src/stream-record.js';

/** A small seeded generator, so a failure names a stream that can be rebuilt. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]! };
}

/** Content that looks like the JSON around it: quotes, escapes, member names the verdict looks for. */
const PIECES = [
  ' word',
  '"',
  '\\',
  '\\"',
  '"finish_reason":"stop"',
  '"error": {"message": "x"}',
  '"usage":{"prompt_tokens":1}',
  '"content":"',
  '},"logprobs":null,"finish_reason":"stop"}],"x":{"',
  'é🌍',
  '\n',
  '\u0000',
  '',
];

const envelope = (id: string) => ({ id, object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini' });

/** A plain delta's text, sometimes not as JSON.stringify writes it (spaces, escaped letters, members reordered). */
function plainDelta(rng: ReturnType<typeof random>, id: string, index: number, usage: boolean): string {
  const content = Array.from({ length: 1 + Math.floor(rng.next() * 3) }, () => rng.pick(PIECES)).join('');
  const chunk: Record<string, unknown> = {
    ...envelope(id),
    choices: [{ index, delta: { content }, logprobs: null, finish_reason: null }],
  };
  if (usage) chunk.usage = null;
  const text = JSON.stringify(chunk);
  const style = rng.next();
  if (style < 0.1) return JSON.stringify(chunk, null, 1);
  if (style < 0.2) return text.replace(/"content":"/, '"content": "').replace(/"w/g, '"\\u0077');
  if (style < 0.25) return text.replace('{"id"', '{"content":"top level","id"');
  if (style < 0.3) return text.replace('"delta":{', '"delta":{"content":"shadowed",');
  return text;
}

function otherEvent(rng: ReturnType<typeof random>, id: string, index: number): string {
  const base = envelope(id);
  return rng.pick([
    JSON.stringify({ ...base, choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
    JSON.stringify({ ...base, choices: [{ index, delta: { content: 'x', role: 'assistant' }, finish_reason: null }] }),
    JSON.stringify({ ...base, choices: [{ index, delta: { content: 'lp' }, logprobs: { content: [] } }] }),
    JSON.stringify({
      ...base,
      choices: [{ index, delta: { tool_calls: [{ index: 0, function: { arguments: '{"' } }] } }],
    }),
    JSON.stringify({ ...base, choices: [{ index, delta: {}, finish_reason: rng.pick(['stop', 'length', 'error']) }] }),
    JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 5 } }),
    JSON.stringify({ error: { message: 'overloaded' } }),
    JSON.stringify({
      ...base,
      model: 'other-model',
      choices: [{ index, delta: { content: 'm' }, finish_reason: null }],
    }),
    JSON.stringify({ ...base, choices: [{ index, delta: { content: 'k' }, finish_reason: null, extra: 1 }] }),
    'not json',
    '[1,2]',
    '{"id":"d","id":"e","choices":[{"index":0,"delta":{"content":"dup"},"finish_reason":null}]}',
  ]);
}

function stream(seed: number): { events: string[]; choices: number } {
  const rng = random(seed);
  const choices = rng.next() < 0.2 ? 2 : 1;
  const usage = rng.next() < 0.5;
  const events: string[] = [];
  const length = Math.floor(rng.next() * 40);
  for (let i = 0; i < length; i++) {
    const id = rng.next() < 0.05 ? 'chatcmpl-other' : 'chatcmpl-1';
    const index = Math.floor(rng.next() * choices);
    events.push(rng.next() < 0.8 ? plainDelta(rng, id, index, usage) : otherEvent(rng, id, index));
  }
  for (let index = 0; index < choices; index++) {
    if (rng.next() < 0.9)
      events.push(
        JSON.stringify({ ...envelope('chatcmpl-1'), choices: [{ index, delta: {}, finish_reason: 'stop' }] }),
      );
  }
  if (usage)
    events.push(
      JSON.stringify({ ...envelope('chatcmpl-1'), choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }),
    );
  return { events, choices };
}

function expected(events: string[], done: boolean, named: boolean, choices: number, filter: boolean) {
  const verdict = checkStream(events, done, named, choices, filter);
  return verdict.complete ? { verdict, completion: eventsToCompletion(events) } : { verdict };
}

describe('recordStreamed', () => {
  it('gives what checkStream and eventsToCompletion give, on streams of every shape', () => {
    let complete = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const { events, choices } = stream(seed);
      const filter = seed % 3 === 0;
      const ours = recordStreamed(events, true, false, choices, filter);
      expect(ours, `seed ${seed}`).toStrictEqual(expected(events, true, false, choices, filter));
      if (ours.verdict.complete) complete++;
    }
    // The generator must reach both outcomes, or half of the comparison is empty.
    expect(complete).toBeGreaterThan(150);
    expect(complete).toBeLessThan(550);
  });

  it('a long answer of plain deltas comes out whole: every content string, in order', () => {
    const base = envelope('chatcmpl-long');
    const words = Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? ` "q${i}\\"` : ` w${i}`));
    const events = [
      JSON.stringify({
        ...base,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      }),
      ...words.map((content) =>
        JSON.stringify({ ...base, choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }] }),
      ),
      JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }),
    ];
    const { verdict, completion } = recordStreamed(events, true, false, 1, false);
    expect(verdict).toStrictEqual({ complete: true, model: 'gpt-4o-mini' });
    expect((completion as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(
      words.join(''),
    );
    expect(completion).toStrictEqual(eventsToCompletion(events));
  });

  it('refuses what checkStream refuses, before looking at the events', () => {
    const events = [JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })];
    expect(recordStreamed(events, false, false, 1, false)).toStrictEqual(expected(events, false, false, 1, false));
    expect(recordStreamed(events, true, true, 1, false)).toStrictEqual(expected(events, true, true, 1, false));
    expect(recordStreamed([], true, false, 1, false)).toStrictEqual(expected([], true, false, 1, false));
  });
});
