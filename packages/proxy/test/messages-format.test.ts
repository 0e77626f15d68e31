import { describe, expect, it } from 'vitest';
import { checkMessage, eventsToMessage, messageToEvents, recordedMessage } from '../src/messages-format.js';

const MESSAGE = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [
    { type: 'thinking', thinking: 'Hmm.', signature: 'sig-1' },
    { type: 'redacted_thinking', data: 'opaque' },
    {
      type: 'text',
      text: 'Paris [1].',
      citations: [{ type: 'char_location', cited_text: 'Paris', document_index: 0 }],
    },
    { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'paris' } },
    { type: 'tool_use', id: 'toolu_1', name: 'noop', input: {} },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 34, cache_read_input_tokens: 5 },
};

describe('messages-format', () => {
  it('a message turned into events adds back up to the same message', () => {
    const { names, events } = messageToEvents(MESSAGE);
    expect(names[0]).toBe('message_start');
    expect(names[1]).toBe('ping');
    expect(names.at(-1)).toBe('message_stop');
    expect(JSON.parse(events[0]!).message).toMatchObject({
      content: [],
      stop_reason: null,
      usage: { input_tokens: 12 },
    });
    expect(recordedMessage(names, events)).toEqual(MESSAGE);
  });

  it('refuses streams that are not whole', () => {
    const { names, events } = messageToEvents(MESSAGE);
    expect(recordedMessage(names.slice(0, -1), events.slice(0, -1))).toMatch(/message_stop/);
    expect(recordedMessage(names.slice(1), events.slice(1))).toMatch(/message_start/);
    const withError = [...names.slice(0, 3), 'error', ...names.slice(3)];
    const errorEvents = [...events.slice(0, 3), '{"type":"error"}', ...events.slice(3)];
    expect(recordedMessage(withError, errorEvents)).toMatch(/error event/);
    const stop = names.lastIndexOf('content_block_stop');
    expect(
      recordedMessage(
        names.filter((_, at) => at !== stop),
        events.filter((_, at) => at !== stop),
      ),
    ).toMatch(/not closed/);
    const broken = events.map((event) => event.replace('{\\"query\\":\\"paris\\"}', '{\\"query\\":'));
    expect(recordedMessage(names, broken)).toMatch(/not JSON/);
  });

  it('keeps a tool input whose deltas are split anywhere', () => {
    const names = ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta'];
    const events = [
      '{"type":"message_start","message":{"id":"m","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}',
      '{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"a\\": [1,"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" 2]}"}}',
    ];
    const message = eventsToMessage(
      [...names, 'content_block_stop', 'message_delta'],
      [
        ...events,
        '{"type":"content_block_stop","index":0}',
        '{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}',
      ],
    );
    expect(message).toMatchObject({
      content: [{ type: 'tool_use', input: { a: [1, 2] } }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 1, output_tokens: 9 },
    });
  });

  it('never stores an error body, a refusal (unless asked) or a message without a stop reason', () => {
    expect(checkMessage(MESSAGE, false)).toBe(true);
    expect(checkMessage({ type: 'error', error: { type: 'overloaded_error' } }, false)).toMatch(/error/);
    expect(checkMessage({ ...MESSAGE, stop_reason: 'refusal' }, false)).toMatch(/cacheContentFilter/);
    expect(checkMessage({ ...MESSAGE, stop_reason: 'refusal' }, true)).toBe(true);
    expect(checkMessage({ ...MESSAGE, stop_reason: null }, false)).toMatch(/stop_reason/);
  });
});
