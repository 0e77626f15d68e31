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

/** What `open` may return instead of a bare stream: the stream plus anything every caller needs (status, headers). */
export interface FlightSource<T, M> {
  stream: ReadableStream<T>;
  meta: M;
}

export interface FlightTicket<T, M = undefined> {
  /** This caller's copy of the stream: chunks seen so far, then the live ones. Chunks are shared, not copied. */
  stream: ReadableStream<T>;
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
  reader: ReadableStreamDefaultReader<T> | undefined;
  waiters: (() => void)[];
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
      reader: undefined,
      waiters: [],
      wanted: undefined,
      ready,
      done,
    };
    this.flights.set(key, flight);
    const ticket = this.ticket(flight, true);

    const end = (outcome: FlightOutcome<T>) => {
      flight.outcome = outcome;
      flight.reader = undefined;
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
    let reader: ReadableStreamDefaultReader<T>;
    let meta: M;
    try {
      const source = await open();
      if (isStream<T>(source)) {
        reader = source.getReader();
        meta = undefined as M;
      } else {
        reader = source.stream.getReader();
        meta = source.meta;
      }
    } catch (error) {
      failed(error);
      end({ status: 'error', error, chunks: flight.chunks });
      return;
    }
    if (flight.abandoned) {
      reader.cancel().catch(noop);
      opened(meta);
      end({ status: 'cancelled', chunks: flight.chunks });
      return;
    }
    flight.reader = reader;
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
  private demand(flight: Flight<T, M>): Promise<void> {
    if (flight.waiters.length > 0 || flight.abandoned || flight.active === 0) return Promise.resolve();
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
    if (flight.waiters.length === 0) return;
    const waiters = flight.waiters;
    flight.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private ticket(flight: Flight<T, M>, leader: boolean): FlightTicket<T, M> {
    flight.active++;
    let cursor = 0;
    let current: Flight<T, M> | undefined = flight;
    const release = () => {
      if (!current) return;
      current.active--;
      current = undefined;
    };
    const stream = new ReadableStream<T>(
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
              else if (outcome.status === 'error') controller.error(outcome.error);
              else controller.error(new DOMException('The shared stream was cancelled.', 'AbortError'));
              return;
            }
            await new Promise<void>((resolve) => {
              state.waiters.push(resolve);
              this.want(state);
            });
          }
        },
        cancel: () => {
          const state = current;
          release();
          if (state && state.active === 0) this.want(state);
          if (!state || state.outcome || !this.cancelWhenAbandoned || state.active > 0) return;
          state.abandoned = true;
          this.want(state);
          // Gone from the registry now, so a caller arriving while the cancel lands starts a fresh flight.
          if (this.flights.get(state.key) === state) this.flights.delete(state.key);
          // Before the source opens there is no reader yet; the pump cancels it as soon as it has one.
          state.reader?.cancel().catch(noop);
        },
      },
      { highWaterMark: 0 },
    );
    return { stream, leader, ready: flight.ready, done: flight.done, produced: () => flight.chunks.length };
  }
}
