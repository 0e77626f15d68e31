import type { StreamPart } from './spec.js';
import type { ReplayPacing } from './types.js';

/**
 * A stream of stored parts. `'instant'` enqueues everything at once (the parts are already in memory, so there is
 * nothing to pace and no timer to pay for); `'recorded'` and `{ delayMs }` schedule each part against the start
 * of the replay, so timer lateness does not accumulate. Cancelling the stream clears the pending timer.
 */
export function replayStream(
  parts: readonly StreamPart[],
  at: readonly number[] | undefined,
  pacing: ReplayPacing,
): ReadableStream<StreamPart> {
  const due = dueTimes(parts, at, pacing);
  return due ? pacedStream(parts, due) : instantStream(parts);
}

/** When each part is due, in milliseconds from the start of the replay; undefined when nothing is paced. */
function dueTimes(
  parts: readonly StreamPart[],
  at: readonly number[] | undefined,
  pacing: ReplayPacing,
): ((index: number) => number) | undefined {
  if (pacing === 'instant') return undefined;
  if (pacing === 'recorded') return at && at.length === parts.length ? (index) => at[index]! : undefined;
  return (index) => index * pacing.delayMs;
}

function instantStream(parts: readonly StreamPart[]): ReadableStream<StreamPart> {
  return new ReadableStream<StreamPart>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

function pacedStream(parts: readonly StreamPart[], due: (index: number) => number): ReadableStream<StreamPart> {
  let index = 0;
  let startedAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const emit = (controller: ReadableStreamDefaultController<StreamPart>) => {
    controller.enqueue(parts[index++]!);
    if (index >= parts.length) controller.close();
  };
  return new ReadableStream<StreamPart>(
    {
      start(controller) {
        startedAt = performance.now();
        if (parts.length === 0) controller.close();
      },
      pull(controller) {
        const wait = startedAt + due(index) - performance.now();
        if (wait <= 0) {
          emit(controller);
          return;
        }
        return new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(() => {
            timer = undefined;
            wake = undefined;
            emit(controller);
            resolve();
          }, wait);
        });
      },
      cancel() {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        wake?.();
        wake = undefined;
      },
    },
    // Pull one part at a time: a part is produced when the reader wants it and its time has come.
    { highWaterMark: 0 },
  );
}
