import { describe, expect, it } from 'vitest';
import { formatEvents, pacedEvents, reportBreaks, SseRecorder } from '../src/sse.js';

const bytes = (text: string) => new TextEncoder().encode(text);

function record(parts: (string | Uint8Array)[]): SseRecorder {
  const recorder = new SseRecorder();
  for (const part of parts) recorder.push(typeof part === 'string' ? bytes(part) : part);
  recorder.end();
  return recorder;
}

async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

describe('SseRecorder', () => {
  it('keeps data payloads in order, stops at [DONE], and ignores comments', () => {
    const recorder = record([': keep-alive\n\n', 'data: {"a":1}\n\n', 'data: {"b":2}\n\ndata: [DONE]\n\n']);
    expect(recorder.events).toEqual(['{"a":1}', '{"b":2}']);
    expect(recorder.offsets).toHaveLength(2);
    expect(recorder.done).toBe(true);
    expect(recorder.namedEvents).toBe(false);
  });

  it('reassembles events split anywhere, including inside a multi-byte character and a CRLF', () => {
    const text = 'data: {"t":"héllo 🌍"}\r\n\r\ndata: [DONE]\r\n\r\n';
    const all = bytes(text);
    for (let cut = 1; cut < all.length; cut++) {
      const recorder = record([all.subarray(0, cut), all.subarray(cut)]);
      expect(recorder.events).toEqual(['{"t":"héllo 🌍"}']);
      expect(recorder.done).toBe(true);
    }
  });

  it('joins multi-line data, accepts "data:" without a space and bare CR line ends', () => {
    const recorder = record(['data:line one\rdata: line two\r\r']);
    expect(recorder.events).toEqual(['line one\nline two']);
  });

  it('drops an event cut before its blank line, and notices named events', () => {
    const cut = record(['data: {"a":1}\n\ndata: {"b"']);
    expect(cut.events).toEqual(['{"a":1}']);
    expect(cut.done).toBe(false);
    expect(record(['event: response.created\ndata: {}\n\n']).namedEvents).toBe(true);
  });
});

describe('formatEvents and pacedEvents', () => {
  it('write the same bytes, paced or not', async () => {
    const events = ['{"a":1}', '{"b":2}'];
    expect(formatEvents(events)).toBe('data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n');
    const delays: number[] = [];
    const paced = pacedEvents(events, (index) => {
      delays.push(index);
      return 1;
    });
    expect(await readText(paced)).toBe(formatEvents(events));
    expect(delays).toEqual([1, 2]);
  });
});

describe('reportBreaks', () => {
  function source(parts: string[], error: Error): ReadableStream<Uint8Array> {
    let index = 0;
    return new ReadableStream({
      pull(controller) {
        if (index < parts.length) controller.enqueue(bytes(parts[index++]!));
        else controller.error(error);
      },
    });
  }

  it('turns a break between events into a final error event', async () => {
    const text = await readText(
      reportBreaks(
        source(['data: {"a":1}\n\n'], new Error('other side closed')),
        (e) => `broke: ${(e as Error).message}`,
        () => false,
      ),
    );
    expect(text.startsWith('data: {"a":1}\n\ndata: {"error":')).toBe(true);
    const last = JSON.parse(text.trim().split('\n\n').at(-1)!.slice('data: '.length));
    expect(last).toEqual({
      error: {
        message: 'broke: other side closed',
        type: 'upstream_error',
        param: null,
        code: 'upstream_stream_interrupted',
      },
    });
  });

  it('cuts the connection on a break inside an event, or errors the stream when it cannot', async () => {
    const boom = new Error('reset');
    let cuts = 0;
    const cut = await readText(reportBreaks(source(['data: {"a":1}\n\ndata: {"b'], boom), String, () => ++cuts > 0));
    expect(cut).toBe('data: {"a":1}\n\ndata: {"b');
    expect(cuts).toBe(1);
    await expect(readText(reportBreaks(source(['data: {"b'], boom), String, () => false))).rejects.toBe(boom);
  });

  it('passes a clean stream through unchanged and forwards a cancel', async () => {
    let cancelled = false;
    const clean = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes('data: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const reader = reportBreaks(clean, String, () => false).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: x\n\n');
    await reader.cancel();
    expect(cancelled).toBe(true);
  });
});
