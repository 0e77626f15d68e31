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

type Read = ReadableStreamReadResult<StreamPart>;

/** `readNext` asks `pull` to read again (the stream switched to its fallback). */
const AGAIN = Symbol('again');

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
  const copy = new CallerCopy(source, options);
  return new ReadableStream<StreamPart>(
    {
      start: (controller) => copy.start(controller),
      pull: () => copy.pull(),
      cancel: (reason) => copy.leave(reason),
    },
    { highWaterMark: 0 },
  );
}

/** The state of one caller's copy: the reader it drains, the parts it holds back, its abort in progress. */
class CallerCopy {
  private reader: ReadableStreamDefaultReader<StreamPart>;
  private held: StreamPart[] | undefined;
  private rewrite = true;
  private finished = false;
  private controller!: ReadableStreamDefaultController<StreamPart>;
  /** Parts read from the source (the provider's copy). */
  private read = 0;
  /** Set by the abortSignal: the reason, and how many already-produced parts are still to be delivered. */
  private aborting: { reason: unknown; remaining: number } | undefined;

  constructor(
    source: ReadableStream<StreamPart>,
    private readonly options: CallerStreamOptions,
  ) {
    this.reader = source.getReader();
    this.held = options.fallback ? [] : undefined;
  }

  start(controller: ReadableStreamDefaultController<StreamPart>): void {
    this.controller = controller;
    const { signal } = this.options;
    if (!signal) return;
    if (signal.aborted) this.onAbort();
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  async pull(): Promise<void> {
    for (;;) {
      if (this.aborting?.remaining === 0) return this.endAbort();
      const next = await this.readNext();
      if (next === AGAIN) continue;
      if (next === undefined || this.deliver(next)) return;
    }
  }

  /** This caller stops reading (it cancelled, or failed). */
  leave(reason: unknown): void {
    if (this.finished) return;
    this.settle();
    this.reader.cancel(reason).catch(noop);
    this.options.onLeave?.(reason);
  }

  /** The next part from the reader; undefined when the read failed and this pull is over. */
  private async readNext(): Promise<Read | typeof AGAIN | undefined> {
    try {
      return await this.reader.read();
    } catch (error) {
      if (this.finished) return undefined;
      if (this.aborting) {
        this.endAbort();
        return undefined;
      }
      if (this.held && this.fallBack(error)) return AGAIN;
      this.settle();
      this.controller.error(error);
      return undefined;
    }
  }

  /** Hands one read result on; true when this pull is over, false to read again (the part was held). */
  private deliver(next: Read): boolean {
    if (this.finished) return true;
    if (this.aborting) {
      if (next.done || this.aborting.remaining === 0) {
        this.endAbort();
        return true;
      }
      this.aborting.remaining--;
    }
    if (next.done) {
      this.release();
      this.settle();
      this.controller.close();
      return true;
    }
    this.read++;
    const part = next.value;
    if (this.held) {
      if (part.type === 'error' && this.fallBack(part.error)) return false;
      if (PREAMBLE.has(part.type)) {
        this.held.push(part);
        return false;
      }
      this.release();
    }
    this.controller.enqueue(part.type === 'finish' && this.rewrite ? this.options.finish(part) : part);
    return true;
  }

  private readonly onAbort = (): void => {
    if (this.finished || this.aborting) return;
    const { signal, produced } = this.options;
    const reason = signal?.reason;
    const remaining = this.rewrite && produced ? Math.max(0, produced() - this.read) : 0;
    if (remaining === 0 && !this.held?.length) {
      this.fail(reason);
      return;
    }
    this.aborting = { reason, remaining };
    signal?.removeEventListener('abort', this.onAbort);
    // This caller leaves the shared call now (the provider stops once nobody reads it); what it sent is delivered.
    this.options.onLeave?.(reason);
    if (remaining === 0) this.release();
  };

  private settle(): void {
    this.finished = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }

  private fail(reason: unknown): void {
    this.leave(reason);
    try {
      this.controller.error(reason);
    } catch {
      // Already closed or errored.
    }
  }

  /** Errors with the abort's reason once what was delivered has been read (an error drops queued parts). */
  private endAbort(): void {
    this.release();
    if ((this.controller.desiredSize ?? 0) < 0) return;
    this.fail(this.aborting!.reason);
  }

  /** Switches to the fallback stream when there is one; true when it did. */
  private fallBack(error: unknown): boolean {
    const replacement = this.options.fallback?.(error);
    if (!replacement) return false;
    this.held = undefined;
    this.reader.cancel(error).catch(noop);
    this.options.onLeave?.(error);
    this.reader = replacement.getReader();
    this.rewrite = false;
    return true;
  }

  private release(): void {
    if (!this.held) return;
    for (const part of this.held) this.controller.enqueue(part);
    this.held = undefined;
  }
}
