import { createOpenAITestServer, type OpenAITestServer, type ScriptedReply } from '@llmemo/test-support/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCompletion, checkStream, completionToEvents, eventsToCompletion } from '../src/chat-format.js';
import { withoutUsage } from '../src/stored-usage.js';
import { ssePayloads } from './helpers.js';

let server: OpenAITestServer;
beforeAll(async () => {
  server = await createOpenAITestServer();
});
afterAll(async () => {
  await server.close();
});

async function both(reply: ScriptedReply, extra: Record<string, unknown> = {}) {
  server.script(reply);
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'q' }], ...extra };
  const send = (payload: object) =>
    fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
  const plain = (await (await send(body)).json()) as Record<string, unknown>;
  const text = await (await send({ ...body, stream: true, stream_options: { include_usage: true } })).text();
  return { plain, events: ssePayloads(text).filter((e) => e !== '[DONE]') };
}

/** A completion without the fields that differ between two calls. */
function comparable(completion: Record<string, unknown>) {
  const { id: _id, created: _created, ...rest } = completion;
  return rest;
}

describe('eventsToCompletion adds a real stream up to the real completion', () => {
  const cases: [string, ScriptedReply][] = [
    ['text', { chunks: ['Hel', 'lo', ' there'] }],
    ['reasoning', { reasoning: 'mull it over', text: 'Answer' }],
    [
      'tool calls',
      {
        toolCalls: [
          { name: 'weather', arguments: { city: 'Paris' }, id: 'call_a' },
          { name: 'time', arguments: { zone: 'CET' }, id: 'call_b' },
        ],
      },
    ],
    ['text and tool call', { text: 'Checking.', toolCalls: [{ name: 'weather', arguments: {}, id: 'call_c' }] }],
    ['length', { text: 'cut short', finishReason: 'length' }],
  ];
  for (const [name, reply] of cases) {
    it(name, async () => {
      const { plain, events } = await both(reply);
      const assembled = eventsToCompletion(events);
      const expected = comparable(plain);
      // The stream does not carry the message's empty annotations list; everything else matches.
      for (const choice of expected.choices as { message: Record<string, unknown> }[])
        delete choice.message.annotations;
      expect(comparable(assembled)).toEqual(expected);
      expect(checkCompletion(assembled)).toBe(true);
    });
  }

  it('assembles several choices by index, and logprobs', () => {
    const chunk = (index: number, delta: object, finish: string | null = null, logprobs: object | null = null) =>
      JSON.stringify({
        id: 'x',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [{ index, delta, logprobs, finish_reason: finish }],
      });
    const events = [
      chunk(0, { role: 'assistant', content: '' }),
      chunk(1, { role: 'assistant', content: '' }),
      chunk(1, { content: 'B' }, null, { content: [{ token: 'B', logprob: -0.1 }] }),
      chunk(0, { content: 'A' }, null, { content: [{ token: 'A', logprob: -0.2 }] }),
      chunk(0, { content: 'a' }, null, { content: [{ token: 'a', logprob: -0.3 }] }),
      chunk(0, {}, 'stop'),
      chunk(1, {}, 'stop'),
    ];
    const completion = eventsToCompletion(events) as { choices: { message: { content: string }; logprobs: unknown }[] };
    expect(completion.choices.map((c) => c.message.content)).toEqual(['Aa', 'B']);
    expect(completion.choices[0]?.logprobs).toEqual({
      content: [
        { token: 'A', logprob: -0.2 },
        { token: 'a', logprob: -0.3 },
      ],
    });
    expect(checkStream(events, true, false, 2)).toMatchObject({ complete: true, model: 'm' });
    expect(checkStream(events.slice(0, -1), true, false, 2).reason).toContain('1 of 2 choices');
  });
});

describe('completionToEvents turns a completion into the stream it would have been', () => {
  it('round-trips text, reasoning, tool calls and usage', async () => {
    const { plain } = await both({
      reasoning: 'why',
      text: 'Sure.',
      toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' }, id: 'call_d' }],
      usage: { inputTokens: 4, outputTokens: 6 },
    });
    const events = completionToEvents(plain, true);
    const last = JSON.parse(events.at(-1)!);
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(plain.usage);
    for (const event of events.slice(0, -1)) expect(JSON.parse(event).usage).toBeNull();
    const back = eventsToCompletion(events);
    const expected = comparable(plain);
    for (const choice of expected.choices as { message: Record<string, unknown> }[]) delete choice.message.annotations;
    expect(comparable(back)).toEqual(expected);
    expect(checkStream(events, true, false).complete).toBe(true);
  });

  it('leaves usage out when it was not asked for', async () => {
    const { plain } = await both({ text: 'plain text' });
    const events = completionToEvents(plain, false);
    expect(events.some((event) => event.includes('"usage"'))).toBe(false);
  });
});

describe('checks', () => {
  it('checkStream refuses incomplete or failed streams', () => {
    const done = JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    const open = JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] });
    expect(checkStream([open, done], true, false)).toMatchObject({ complete: true });
    expect(checkStream([open, done], false, false).reason).toContain('[DONE]');
    expect(checkStream([open], true, false).reason).toContain('finish_reason');
    expect(checkStream([open, JSON.stringify({ error: { message: 'x' } })], true, false).reason).toContain('error');
    expect(checkStream(['not json'], true, false).reason).toContain('JSON');
    expect(checkStream([], true, false).reason).toContain('no events');
    // Servers that write JSON with spaces (Python's json.dumps) are read the same way.
    const spaced = '{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1}}';
    expect(checkStream([open, spaced], true, false)).toMatchObject({ complete: true, usage: { prompt_tokens: 1 } });
    expect(checkStream([open, '{"error": {"message": "overloaded"}}', done], true, false).reason).toContain('error');
    // A delta that merely mentions "error" in its text is not an error.
    const mention = JSON.stringify({
      choices: [{ index: 0, delta: { content: 'the "error": field' }, finish_reason: null }],
    });
    expect(checkStream([open, mention, done], true, false).complete).toBe(true);
    expect(checkStream([open, done], true, true).reason).toContain('named events');
  });

  it('checkCompletion refuses errors and unfinished choices', () => {
    expect(checkCompletion({ choices: [{ finish_reason: 'stop' }] })).toBe(true);
    expect(checkCompletion({ choices: [{ finish_reason: null }] })).toContain('finish_reason');
    expect(checkCompletion({ choices: [] })).toContain('no choices');
    expect(checkCompletion({ error: { message: 'x' } })).toContain('error');
    expect(checkCompletion([])).toContain('not a JSON object');
  });

  it('withoutUsage drops the usage chunk and usage fields, leaving other events byte for byte', async () => {
    const { events } = await both({ chunks: ['a', 'b'] });
    const stripped = withoutUsage(events);
    expect(stripped).toHaveLength(events.length - 1);
    for (const event of stripped) expect(event).not.toContain('usage');
    expect(withoutUsage(stripped)).toEqual(stripped);
  });
});
