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
  /**
   * This caller's abortSignal: when it fires, this copy delivers the parts the source had already read from the
   * provider (see `produced`), then errors with the signal's reason and stops reading.
   */
  signal?: AbortSignal | undefined;
  /**
   * How many parts the source has read from the provider so far. The provider stream is read ahead of this caller
   * (it is shared and recorded), so on an abort the parts it had sent are still queued here; the SDK without a cache
   * would have received them before its abort, and builds its result from them ('start-step' included).
   */
  produced?: (() => number) | undefined;
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
  /** Parts read from the source (the provider's copy). */
  let read = 0;
  /** Set by the abortSignal: the reason, and how many already-produced parts are still to be delivered. */
  let aborting: { reason: unknown; remaining: number } | undefined;

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
  const fail = (reason: unknown) => {
    leave(reason);
    try {
      controller.error(reason);
    } catch {
      // Already closed or errored.
    }
  };
  /** Errors with the abort's reason once what was delivered has been read (an error drops queued parts). */
  const endAbort = () => {
    release();
    if ((controller.desiredSize ?? 0) < 0) return;
    fail(aborting!.reason);
  };
  function onAbort() {
    if (finished || aborting) return;
    const reason = signal?.reason;
    const remaining = rewrite && options.produced ? Math.max(0, options.produced() - read) : 0;
    if (remaining === 0 && !held?.length) {
      fail(reason);
      return;
    }
    aborting = { reason, remaining };
    signal?.removeEventListener('abort', onAbort);
    // This caller leaves the shared call now (the provider stops once nobody reads it); what it sent is delivered.
    options.onLeave?.(reason);
    if (remaining === 0) release();
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
          if (aborting?.remaining === 0) return endAbort();
          let next: ReadableStreamReadResult<StreamPart>;
          try {
            next = await reader.read();
          } catch (error) {
            if (finished) return;
            if (aborting) return endAbort();
            if (held && fallBack(error)) continue;
            settle();
            controller.error(error);
            return;
          }
          if (finished) return;
          if (aborting) {
            if (next.done || aborting.remaining === 0) return endAbort();
            aborting.remaining--;
          }
          if (next.done) {
            release();
            settle();
            controller.close();
            return;
          }
          read++;
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
