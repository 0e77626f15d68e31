import type { StreamPart } from './spec.js';

export interface Recording {
  parts: StreamPart[];
  at: number[];
}

export interface RecordOptions {
  /** performance.now() when the call started: offsets count from here, so time to first part is kept. */
  startedAt: number;
  /**
   * When the call started (wall clock): the response timestamp for providers whose stream carries none (Anthropic,
   * Google), which the AI SDK would otherwise set to the time it read the stream, a different time on every replay.
   */
  timestamp: Date;
  /** Replaces the finish part the caller sees (to add `providerMetadata.llmemo`); the recording keeps the original. */
  finish: (part: Extract<StreamPart, { type: 'finish' }>) => StreamPart;
  /** Called once, only when the stream ended normally after a `finish` part and without an `error` part. */
  complete: (recording: Recording) => void;
}

/**
 * Passes a provider stream through to the caller while recording it. Each part is handed on before it is
 * recorded, so the caller waits for nothing. `raw` and `ping` parts are not recorded (they are transport, and raw
 * chunks can be large); an `error` part, a stream that errors, is aborted or is cancelled by its reader, or one that
 * ends without `finish` is never completed: TransformStream runs `flush` only when the source closes normally.
 */
export function recordStream(source: ReadableStream<StreamPart>, options: RecordOptions): ReadableStream<StreamPart> {
  const parts: StreamPart[] = [];
  const at: number[] = [];
  let finished = false;
  let failed = false;
  let stamped = false;
  const record = (part: StreamPart) => {
    // A shallow copy, so a consumer that changes the part it received cannot change what is stored.
    parts.push({ ...part });
    at.push(Math.round(performance.now() - options.startedAt));
  };
  return source.pipeThrough(
    new TransformStream<StreamPart, StreamPart>({
      transform(incoming, controller) {
        let part = incoming;
        if (!stamped && part.type === 'response-metadata') {
          stamped = true;
          if (part.timestamp == null) part = { ...part, timestamp: options.timestamp };
        } else if (!stamped && part.type !== 'stream-start' && part.type !== 'raw') {
          // No response-metadata before the answer: one is added, so the timestamp is recorded all the same.
          stamped = true;
          const metadata = { type: 'response-metadata', timestamp: options.timestamp } as StreamPart;
          controller.enqueue(metadata);
          record(metadata);
        }
        controller.enqueue(part.type === 'finish' ? options.finish(part) : part);
        switch (part.type) {
          case 'raw':
            return;
          case 'error':
            failed = true;
            return;
          case 'finish':
            finished = true;
            break;
          default:
            if ((part as { type: string }).type === 'ping') return;
        }
        record(part);
      },
      flush() {
        if (finished && !failed) options.complete({ parts, at });
      },
    }),
  );
}
