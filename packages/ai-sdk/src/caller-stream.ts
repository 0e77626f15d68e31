import type { StreamPart } from './spec.js';

type FinishPart = Extract<StreamPart, { type: 'finish' }>;

export interface CallerStreamOptions {
  /** Replaces the finish part this caller sees (to add its own `providerMetadata.llmemo`). */
  finish: (part: FinishPart) => StreamPart;
  /**
   * Stale-if-error for a stream: called at most once, when the source fails (an error part, or the stream errors)
   * before any content part reached this caller. Returns the stream to serve instead (a stale entry's replay), or
   * undefined to let the failure through.
   */
  fallback?: ((error: unknown) => ReadableStream<StreamPart> | undefined) | undefined;
  /** This caller's abortSignal: when it fires, this copy errors with its reason and stops reading the source. */
  signal?: AbortSignal | undefined;
  /** This caller stopped before the end (it cancelled, its signal fired, or it switched to the fallback). */
  onLeave?: (reason: unknown) => void;
}

/** Parts that carry no answer: held back while a fallback may still replace the stream. */
const PREAMBLE = new Set<string>(['stream-start', 'response-metadata', 'raw']);

function noop(): void {}

/**
 * One caller's view of a (possibly shared) provider stream: its own finish metadata, its own abortSignal, and
 * stale-if-error before the first content part. Until a content part arrives the preamble parts are held (they
 * follow each other at once, so holding them costs no latency); once content has reached the caller, a failure
 * passes through as it is: an answer cannot be swapped mid-way.
 */
export function callerStream(
  source: ReadableStream<StreamPart>,
  options: CallerStreamOptions,
): ReadableStream<StreamPart> {
  const { signal } = options;
  let reader = source.getReader();
  let held: StreamPart[] | undefined = options.fallback ? [] : undefined;
  let rewrite = true;
  let finished = false;
  let controller!: ReadableStreamDefaultController<StreamPart>;

  const settle = () => {
    finished = true;
    signal?.removeEventListener('abort', onAbort);
  };
  const leave = (reason: unknown) => {
    if (finished) return;
    settle();
    reader.cancel(reason).catch(noop);
    options.onLeave?.(reason);
  };
  function onAbort() {
    const reason = signal?.reason;
    leave(reason);
    try {
      controller.error(reason);
    } catch {
      // Already closed or errored.
    }
  }
  /** Switches to the fallback stream when there is one; true when it did. */
  const fallBack = (error: unknown): boolean => {
    const replacement = options.fallback?.(error);
    if (!replacement) return false;
    held = undefined;
    reader.cancel(error).catch(noop);
    options.onLeave?.(error);
    reader = replacement.getReader();
    rewrite = false;
    return true;
  };
  const release = () => {
    if (!held) return;
    for (const part of held) controller.enqueue(part);
    held = undefined;
  };

  return new ReadableStream<StreamPart>(
    {
      start(streamController) {
        controller = streamController;
        if (!signal) return;
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      },
      async pull() {
        for (;;) {
          let next: ReadableStreamReadResult<StreamPart>;
          try {
            next = await reader.read();
          } catch (error) {
            if (finished) return;
            if (held && fallBack(error)) continue;
            settle();
            controller.error(error);
            return;
          }
          if (finished) return;
          if (next.done) {
            release();
            settle();
            controller.close();
            return;
          }
          const part = next.value;
          if (held) {
            if (part.type === 'error' && fallBack(part.error)) continue;
            if (PREAMBLE.has(part.type)) {
              held.push(part);
              continue;
            }
            release();
          }
          controller.enqueue(part.type === 'finish' && rewrite ? options.finish(part) : part);
          return;
        }
      },
      cancel(reason) {
        leave(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
