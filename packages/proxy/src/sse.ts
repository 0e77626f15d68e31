import type { Answer } from './answer.js';
import { recordAnswer } from './context.js';

/**
 * Server-sent events, just what OpenAI-style and Anthropic streams need. Hand-written rather than
 * eventsource-parser (not a dependency here): the proxy passes the upstream bytes through untouched and only needs
 * the `data:` payloads (and event names) on the side, to record them.
 */

/** Reads an SSE byte stream incrementally and keeps each event's data payload and its arrival time. */
export class SseRecorder {
  /** The `data:` payloads, in order, without the final `[DONE]`. */
  readonly events: string[] = [];
  /** Each event's `event:` name, '' when it had none (OpenAI-style streams never name events). */
  readonly names: string[] = [];
  /** Milliseconds from the first byte to each event. */
  readonly offsets: number[] = [];
  /** The stream ended with `data: [DONE]`. */
  done = false;
  /** An `event:` name other than `message` was seen (OpenAI-style chat streams never name events). */
  namedEvents = false;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private data: string[] = [];
  private eventName = '';
  private startedAt = -1;

  push(chunk: Uint8Array): void {
    if (this.startedAt < 0) this.startedAt = performance.now();
    this.buffer += this.decoder.decode(chunk, { stream: true });
    this.lines(false);
  }

  /** The upstream ended: parse what is left. An event without its blank line is incomplete and dropped, per spec. */
  end(): void {
    this.buffer += this.decoder.decode();
    this.lines(true);
  }

  private lines(final: boolean): void {
    const text = this.buffer;
    let start = 0;
    if (!text.includes('\r')) {
      // The common case (OpenAI and most servers end lines with LF): let indexOf find them.
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        this.line(text.slice(start, end));
        start = end + 1;
      }
      this.buffer = text.slice(start);
      return;
    }
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code !== 10 && code !== 13) continue;
      // A CR at the end of a chunk may be the first half of a CRLF: wait for the next chunk.
      if (code === 13 && i + 1 === text.length && !final) break;
      this.line(text.slice(start, i));
      if (code === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = text.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' starts a comment (keep-alives)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventName = value;
  }

  private dispatch(): void {
    const name = this.eventName;
    if (name !== '' && name !== 'message') this.namedEvents = true;
    this.eventName = '';
    if (this.data.length === 0) return;
    const payload = this.data.join('\n');
    this.data = [];
    if (payload === '[DONE]') {
      this.done = true;
      return;
    }
    this.events.push(payload);
    this.names.push(name);
    this.offsets.push(Math.round(performance.now() - this.startedAt));
  }
}

/** The wire form of recorded payloads: each as a `data:` event, then `[DONE]`. */
export function formatEvents(events: readonly string[]): string {
  let out = '';
  for (const event of events) out += `data: ${event}\n\n`;
  return `${out}data: [DONE]\n\n`;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
});

/** A replayed stream's answer under our marks (X-Cache and the rest), readable by `headerOf`. */
export function sseAnswer(body: string | ReadableStream<Uint8Array>, marks: Record<string, string>): Answer {
  return recordAnswer(body, { ...SSE_HEADERS, ...marks });
}

/** Replays payloads with a delay before each event after the first: fixed, or as recorded. */
export function pacedEvents(
  events: readonly string[],
  delayBefore: (index: number) => number,
): ReadableStream<Uint8Array> {
  return pacedBlocks(
    [...events, '[DONE]'].map((payload) => `data: ${payload}\n\n`),
    delayBefore,
  );
}

/** Replays wire-form event blocks (`event: …\ndata: …\n\n`) with a delay before each one after the first. */
export function pacedBlocks(
  blocks: readonly string[],
  delayBefore: (index: number) => number,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let index = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index >= blocks.length) {
        controller.close();
        return;
      }
      const delay = index === 0 ? 0 : Math.max(0, delayBefore(index));
      if (delay > 0) await new Promise<void>((resolve) => (timer = setTimeout(resolve, delay)));
      controller.enqueue(encoder.encode(blocks[index]!));
      index++;
    },
    cancel() {
      clearTimeout(timer);
      index = blocks.length;
    },
  });
}

/** How a replay is paced: the proxy's `replay` option, over the arrival offsets recorded with the events. */
export function replayStream(
  pacing: 'instant' | 'recorded' | number,
  blocks: readonly string[],
  offsets: readonly number[],
): string | ReadableStream<Uint8Array> {
  if (pacing === 'instant') return blocks.join('');
  const delay =
    pacing === 'recorded'
      ? (index: number) => (offsets[index] ?? offsets[index - 1] ?? 0) - (offsets[index - 1] ?? 0)
      : () => pacing;
  return pacedBlocks(blocks, delay);
}

/** OpenAI's in-band failure: one last `data: {"error": …}` event (the official clients raise it as an APIError). */
export function openAIErrorEvent(message: string): string {
  const body = { error: { message, type: 'upstream_error', param: null, code: 'upstream_stream_interrupted' } };
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** How a stream that may break off reports it: in-band between two events, by cutting the connection inside one. */
export interface BreakReport {
  describe: (error: unknown) => string;
  /** Ends the client's connection; false where the erroring stream has to do it. */
  cut: (error: unknown) => boolean;
  errorEvent?: ((message: string) => string) | undefined;
}

/** The last four bytes sent: an event ends with a blank line (LF LF, CR CR or CRLF CRLF). None sent counts too. */
export class EventTail {
  private tail = 0x0a0a;

  push(chunk: Uint8Array): void {
    let { tail } = this;
    for (let i = Math.max(0, chunk.byteLength - 4); i < chunk.byteLength; i++) tail = ((tail << 8) | chunk[i]!) >>> 0;
    this.tail = tail;
  }

  /**
   * What a break after the bytes pushed so far becomes: the last event to send (between events), 'cut' once the
   * connection was cut (inside an event), or 'error' when neither is possible here.
   */
  broke(error: unknown, report: BreakReport): Uint8Array | 'cut' | 'error' {
    const { tail } = this;
    if ((tail & 0xffff) === 0x0a0a || (tail & 0xffff) === 0x0d0d || tail === 0x0d0a0d0a) {
      return new TextEncoder().encode((report.errorEvent ?? openAIErrorEvent)(report.describe(error)));
    }
    return report.cut(error) ? 'cut' : 'error';
  }
}

/**
 * The client's copy of an upstream stream that may break off. A break between two events becomes one last event
 * in the API's own form (`errorEvent`; OpenAI's `data: {"error": …}` by default), the way the provider reports a
 * failure mid-stream; a break inside an event cannot be reported in-band, so the connection is cut (`cut`), as the
 * upstream's was. (The Node path does the same in its writer, without this stream: see `writeAnswer`.)
 */
export function reportBreaks(
  stream: ReadableStream<Uint8Array>,
  describe: BreakReport['describe'],
  cut: BreakReport['cut'],
  errorEvent?: BreakReport['errorEvent'],
): ReadableStream<Uint8Array> {
  const report: BreakReport = { describe, cut, errorEvent };
  const reader = stream.getReader();
  const tail = new EventTail();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          tail.push(value);
          controller.enqueue(value);
        } catch (error) {
          const outcome = tail.broke(error, report);
          if (outcome === 'error') {
            controller.error(error);
            return;
          }
          if (outcome !== 'cut') controller.enqueue(outcome);
          controller.close();
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
