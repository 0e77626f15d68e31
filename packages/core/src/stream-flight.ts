/**
 * In-process coalescing for streams: identical streamed requests in flight at once share one source.
 *
 * The first caller for a key leads: its `open()` runs and the source is read exactly once, by a pump that does not
 * wait for any consumer (every chunk is kept anyway, for late joiners and for recording). Every caller, leader
 * included, gets its own ReadableStream that first replays the chunks already seen, then the live ones. Web
 * Streams' `tee()` is not used: it fixes the number of branches up front, and cancelling one branch must not touch
 * the others.
 */

/** How a flight's source ended. `chunks` is everything it produced, in order. */
export type FlightOutcome<T> =
  | { status: 'done'; chunks: readonly T[] }
  | { status: 'error'; error: unknown; chunks: readonly T[] }
  | { status: 'cancelled'; chunks: readonly T[] };

/**
 * Takes a flight's chunks as they arrive (`FlightTicket.listen`), or a push source's (`PushSource.start`): called
 * synchronously, no promise per chunk, which a consumer that writes each chunk at once (a Node response) does not
 * need. Exactly one of `end` and `error` is called, once.
 */
export interface FlightListener<T> {
  chunk(value: T): void;
  /** The source ended cleanly, after its last chunk. */
  end(): void;
  /** The source failed, or was cancelled (an `AbortError` DOMException). */
  error(error: unknown): void;
}

/**
 * A source that pushes its chunks (Node stream events, say) instead of being read: no Web stream and no promise per
 * chunk between it and the callers. It is always read ahead (`readAhead: false` paces only stream sources).
 */
export interface PushSource<T> {
  /** Called once, when the flight takes the source: chunks go to `sink` until its `end` or `error`. */
  start(sink: FlightListener<T>): void;
  /** Stops producing: every caller left. The sink ignores anything pushed afterwards. */
  cancel(): void;
}

/**
 * What `open` may return instead of a bare stream: the source (a stream, or a push source) plus anything every
 * caller needs (status, headers).
 */
export type FlightSource<T, M> = { stream: ReadableStream<T>; meta: M } | { push: PushSource<T>; meta: M };

export interface FlightTicket<T, M = undefined> {
  /**
   * This caller's copy of the stream: chunks seen so far, then the live ones. Chunks are shared, not copied. Made
   * when first read; a ticket is read through `stream` or through `listen`, not both.
   */
  readonly stream: ReadableStream<T>;
  /**
   * The same copy pushed to `listener`: the chunks seen so far at once (synchronously, before this returns), then
   * each live one as the source produces it. Returns the cancel, which counts as `stream.cancel()` would.
   */
  listen(listener: FlightListener<T>): () => void;
  /** True for the caller whose `open` ran. */
  leader: boolean;
  /**
   * Resolves once the source is open, with the `meta` that `open` returned (undefined for a bare stream); rejects
   * with what `open` threw (then `stream` errors the same way).
   */
  ready: Promise<M>;
  /** Resolves once the source has ended, however it ended. Never rejects. */
  done: Promise<FlightOutcome<T>>;
  /** How many chunks the source has produced so far. */
  produced: () => number;
}

export interface StreamFlightOptions {
  /**
   * Cancel the source once every caller has cancelled its copy (default true): nobody is left to read it, and an
   * upstream that is cancelled stops producing (and billing) what no one will see. With `false` the source is read
   * to its end regardless, e.g. to record it.
   */
  cancelWhenAbandoned?: boolean;
  /**
   * Read the source ahead of every caller (default true), so it is recorded whatever the callers do. With `false`
   * the source is read only while a caller waits for a chunk it has not seen, as a caller reading the source alone
   * would read it: nothing is taken from it before someone asks, so what a caller has received when it aborts is
   * what it would have received without sharing (the AI SDK builds its result from exactly that).
   */
  readAhead?: boolean;
}

export interface JoinOptions<T> {
  /**
   * Runs once when the source ends, for the leader's join only (a follower's is ignored). After a clean end the
   * flight stays joinable, replaying the full stream, until the promise this returns settles: callers that arrive
   * while the leader writes the recording share it instead of missing in the gap. After an error or a cancel the
   * flight is gone at once, so the next caller starts afresh.
   */
  onEnd?: (outcome: FlightOutcome<T>) => unknown;
}

type Open<T, M> = () => ReadableStream<T> | FlightSource<T, M> | Promise<ReadableStream<T> | FlightSource<T, M>>;

interface Flight<T, M> {
  readonly key: string;
  readonly chunks: T[];
  outcome: FlightOutcome<T> | undefined;
  /** Copies handed out and not yet cancelled or read to the end. */
  active: number;
  abandoned: boolean;
  /** Stops the source once the flight is abandoned (a stream reader's cancel, a push source's). */
  stop: (() => void) | undefined;
  waiters: (() => void)[];
  /** Listening tickets, told of every new chunk and of the end. */
  readonly listeners: Set<() => void>;
  /** Set while the pump (without read-ahead) waits for a caller to want a chunk. */
  wanted: (() => void) | undefined;
  readonly ready: Promise<M>;
  readonly done: Promise<FlightOutcome<T>>;
}

function noop(): void {}

function isStream<T>(value: unknown): value is ReadableStream<T> {
  return typeof (value as ReadableStream<T> | undefined)?.getReader === 'function';
}

export class StreamFlight<T, M = undefined> {
  private readonly flights = new Map<string, Flight<T, M>>();
  private readonly cancelWhenAbandoned: boolean;
  private readonly readAhead: boolean;

  constructor(options: StreamFlightOptions = {}) {
    this.cancelWhenAbandoned = options.cancelWhenAbandoned ?? true;
    this.readAhead = options.readAhead ?? true;
  }

  /** Number of flights in progress (or still joinable while their leader records). */
  get size(): number {
    return this.flights.size;
  }

  has(key: string): boolean {
    return this.flights.has(key);
  }

  /** Joins the flight for `key`, or starts it by calling `open` (synchronously, before this returns). */
  join(key: string, open: Open<T, M>, options: JoinOptions<T> = {}): FlightTicket<T, M> {
    const existing = this.flights.get(key);
    if (existing) return this.ticket(existing, false);

    let opened: (meta: M) => void = noop;
    let failed: (error: unknown) => void = noop;
    const ready = new Promise<M>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    // Handled here so a caller that never awaits `ready` does not cause an unhandled rejection.
    ready.catch(noop);
    let finish: (outcome: FlightOutcome<T>) => void = noop;
    const done = new Promise<FlightOutcome<T>>((resolve) => {
      finish = resolve;
    });
    const flight: Flight<T, M> = {
      key,
      chunks: [],
      outcome: undefined,
      active: 0,
      abandoned: false,
      stop: undefined,
      waiters: [],
      listeners: new Set(),
      wanted: undefined,
      ready,
      done,
    };
    this.flights.set(key, flight);
    const ticket = this.ticket(flight, true);

    const end = (outcome: FlightOutcome<T>) => {
      // A push source may report its end after the flight was abandoned (and ended) already.
      if (flight.outcome) return;
      flight.outcome = outcome;
      flight.stop = undefined;
      this.wake(flight);
      finish(outcome);
      const retire = () => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      };
      if (outcome.status !== 'done') retire();
      let held: unknown;
      try {
        held = options.onEnd?.(outcome);
      } catch {
        held = undefined;
      }
      if (outcome.status === 'done') Promise.resolve(held).then(retire, retire);
    };
    void this.pump(flight, open, opened, failed, end);
    return ticket;
  }

  private async pump(
    flight: Flight<T, M>,
    open: Open<T, M>,
    opened: (meta: M) => void,
    failed: (error: unknown) => void,
    end: (outcome: FlightOutcome<T>) => void,
  ): Promise<void> {
    let source: ReadableStream<T> | FlightSource<T, M>;
    try {
      source = await open();
    } catch (error) {
      failed(error);
      end({ status: 'error', error, chunks: flight.chunks });
      return;
    }
    if (!isStream<T>(source) && 'push' in source) {
      const { meta } = source;
      this.take(flight, source.push, () => opened(meta), end);
      return;
    }
    const reader = isStream<T>(source) ? source.getReader() : source.stream.getReader();
    const meta = isStream<T>(source) ? (undefined as M) : source.meta;
    if (flight.abandoned) {
      reader.cancel().catch(noop);
      opened(meta);
      end({ status: 'cancelled', chunks: flight.chunks });
      return;
    }
    flight.stop = () => {
      reader.cancel().catch(noop);
    };
    opened(meta);
    try {
      for (;;) {
        if (!this.readAhead) await this.demand(flight);
        if (flight.abandoned) break;
        const { done, value } = await reader.read();
        if (done) break;
        flight.chunks.push(value);
        this.wake(flight);
      }
    } catch (error) {
      if (!flight.abandoned) {
        end({ status: 'error', error, chunks: flight.chunks });
        return;
      }
    }
    end({ status: flight.abandoned ? 'cancelled' : 'done', chunks: flight.chunks });
  }

  /**
   * Resolves once a caller waits for a chunk not read yet, the flight was abandoned, or no caller is left to pace
   * it (then it is read to its end, as with read-ahead).
   */
  /** A push source's chunks, straight into the flight; abandoning the flight cancels the source and ends it. */
  private take(
    flight: Flight<T, M>,
    source: PushSource<T>,
    opened: () => void,
    end: (outcome: FlightOutcome<T>) => void,
  ): void {
    if (flight.abandoned) {
      source.cancel();
      opened();
      end({ status: 'cancelled', chunks: flight.chunks });
      return;
    }
    flight.stop = () => {
      source.cancel();
      end({ status: 'cancelled', chunks: flight.chunks });
    };
    opened();
    try {
      source.start({
        chunk: (value) => {
          if (flight.outcome) return;
          flight.chunks.push(value);
          this.wake(flight);
        },
        end: () => end({ status: 'done', chunks: flight.chunks }),
        error: (error) => end({ status: 'error', error, chunks: flight.chunks }),
      });
    } catch (error) {
      source.cancel();
      end({ status: 'error', error, chunks: flight.chunks });
    }
  }

  private demand(flight: Flight<T, M>): Promise<void> {
    const wanting = flight.waiters.length > 0 || flight.listeners.size > 0;
    if (wanting || flight.abandoned || flight.active === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      flight.wanted = resolve;
    });
  }

  private want(flight: Flight<T, M>): void {
    const wanted = flight.wanted;
    flight.wanted = undefined;
    wanted?.();
  }

  private wake(flight: Flight<T, M>): void {
    for (const listener of flight.listeners) listener();
    if (flight.waiters.length === 0) return;
    const waiters = flight.waiters;
    flight.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private ticket(flight: Flight<T, M>, leader: boolean): FlightTicket<T, M> {
    flight.active++;
    let cursor = 0;
    let current: Flight<T, M> | undefined = flight;
    let reading: 'stream' | 'listen' | undefined;
    let stream: ReadableStream<T> | undefined;
    const release = () => {
      if (!current) return;
      current.active--;
      current = undefined;
    };
    const cancel = () => {
      const state = current;
      release();
      if (state && state.active === 0) this.want(state);
      if (!state || state.outcome || !this.cancelWhenAbandoned || state.active > 0) return;
      state.abandoned = true;
      this.want(state);
      // Gone from the registry now, so a caller arriving while the cancel lands starts a fresh flight.
      if (this.flights.get(state.key) === state) this.flights.delete(state.key);
      // Before the source opens there is nothing to stop yet; the pump stops it as soon as it has it.
      state.stop?.();
    };
    const claim = (how: 'stream' | 'listen') => {
      if (reading !== undefined && reading !== how) {
        throw new TypeError('A flight ticket is read through .stream or through .listen(), not both.');
      }
      reading = how;
    };
    const makeStream = () =>
      new ReadableStream<T>(
        {
          pull: async (controller) => {
            for (;;) {
              const state = current;
              if (!state) return;
              if (cursor < state.chunks.length) {
                while (cursor < state.chunks.length) controller.enqueue(state.chunks[cursor++]!);
                return;
              }
              const outcome = state.outcome;
              if (outcome) {
                release();
                if (outcome.status === 'done') controller.close();
                else controller.error(failureOf(outcome));
                return;
              }
              await new Promise<void>((resolve) => {
                state.waiters.push(resolve);
                this.want(state);
              });
            }
          },
          cancel,
        },
        { highWaterMark: 0 },
      );
    const listen = (listener: FlightListener<T>): (() => void) => {
      claim('listen');
      const state = current;
      if (!state) return noop;
      const told = () => {
        while (current && cursor < state.chunks.length) listener.chunk(state.chunks[cursor++]!);
        const outcome = state.outcome;
        if (!current || !outcome) return;
        state.listeners.delete(told);
        release();
        if (outcome.status === 'done') listener.end();
        else listener.error(failureOf(outcome));
      };
      state.listeners.add(told);
      this.want(state);
      told();
      return () => {
        if (!current) return;
        state.listeners.delete(told);
        cancel();
      };
    };
    return {
      get stream() {
        if (!stream) {
          claim('stream');
          stream = makeStream();
        }
        return stream;
      },
      listen,
      leader,
      ready: flight.ready,
      done: flight.done,
      produced: () => flight.chunks.length,
    };
  }
}

/** What a caller's copy fails with when the source did not end cleanly. */
function failureOf<T>(outcome: Exclude<FlightOutcome<T>, { status: 'done' }>): unknown {
  return outcome.status === 'error'
    ? outcome.error
    : new DOMException('The shared stream was cancelled.', 'AbortError');
}
