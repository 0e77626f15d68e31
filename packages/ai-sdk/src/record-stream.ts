import type { StreamPart } from './spec.js';

export interface Recording {
  parts: StreamPart[];
  at: number[];
}

export interface RecordOptions {
  /** performance.now() when the call started: offsets count from here, so time to first part is kept. */
  startedAt: number;
  /**
   * When the call started (wall clock): the response timestamp for providers whose response-metadata carries none
   * (Anthropic, Google), which the AI SDK would otherwise set to the time of each call, a hit's included.
   */
  timestamp: Date;
  /** Replaces the finish part the caller sees (to add `providerMetadata.llmemo`); the recording keeps the original. */
  finish: (part: Extract<StreamPart, { type: 'finish' }>) => StreamPart;
  /** Called once, only when the stream ended normally after a `finish` part and without an `error` part. */
  complete: (recording: Recording) => void;
}

/**
 * Passes a provider stream through to the caller while recording it. Each part is handed on before it is
 * recorded, so the caller waits for nothing, and the provider stream is read only when the caller asks for a part
 * (as without a cache: nothing is read ahead of an abort). `raw` and `ping` parts are not recorded (they are
 * transport, and raw chunks can be large); an `error` part, a stream that errors, is aborted or is cancelled by its
 * reader, or one that ends without `finish` is never completed.
 */
export function recordStream(source: ReadableStream<StreamPart>, options: RecordOptions): ReadableStream<StreamPart> {
  const parts: StreamPart[] = [];
  const at: number[] = [];
  const reader = source.getReader();
  let finished = false;
  let failed = false;
  let stamped = false;
  const record = (part: StreamPart) => {
    // A shallow copy, so a consumer that changes the part it received cannot change what is stored.
    parts.push({ ...part });
    at.push(Math.round(performance.now() - options.startedAt));
  };
  /** The parts to hand on for one source part. */
  const handOn = (incoming: StreamPart): StreamPart[] => {
    let part = incoming;
    if (!stamped && part.type === 'response-metadata') {
      stamped = true;
      if (part.timestamp == null) part = { ...part, timestamp: options.timestamp };
    } else if (!stamped && part.type !== 'stream-start' && part.type !== 'raw') {
      // No response-metadata at all (every first-party provider sends one): one is recorded, not handed on, since
      // an extra part would change when the caller reads what (an abort then cuts the answer elsewhere).
      stamped = true;
      record({ type: 'response-metadata', timestamp: options.timestamp } as StreamPart);
    }
    const out = [part.type === 'finish' ? options.finish(part) : part];
    switch (part.type) {
      case 'raw':
        return out;
      case 'error':
        failed = true;
        return out;
      case 'finish':
        finished = true;
        break;
      default:
        if ((part as { type: string }).type === 'ping') return out;
    }
    record(part);
    return out;
  };
  return new ReadableStream<StreamPart>(
    {
      async pull(controller) {
        const next = await reader.read();
        if (next.done) {
          controller.close();
          if (finished && !failed) options.complete({ parts, at });
          return;
        }
        for (const part of handOn(next.value)) controller.enqueue(part);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
