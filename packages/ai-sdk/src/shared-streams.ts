import { type FlightOutcome, StreamFlight } from '@llmemo/core';
import type { StreamPart, StreamResult } from './spec.js';

/** What every caller of a shared provider stream gets besides the parts: the request and response info. */
export type StreamMeta = Omit<StreamResult, 'stream'>;

/** The callers of one flight, for aborting the provider call once none of them is left. */
interface Crew {
  readonly controller: AbortController;
  members: number;
  settled: boolean;
}

/** A flight that ended complete and is being stored: replayed to callers whose cache read raced the write. */
interface Recent {
  readonly parts: readonly StreamPart[];
  readonly meta: StreamMeta;
  /** The clock when the write settled; undefined while it is in progress. */
  landed: number | undefined;
}

export interface ShareOptions {
  /** Opens the provider stream (run for the first caller only), with a signal that fires when every caller left. */
  open: (signal: AbortSignal) => PromiseLike<StreamResult>;
  /**
   * The first caller's hook when the provider stream ends. Return the write's promise when the stream is being
   * stored: until it settles, and for callers whose cache read began before it settled, the stream is replayed.
   */
  onEnd?: (outcome: FlightOutcome<StreamPart>) => Promise<unknown> | undefined;
  /** This caller's abortSignal: it stops only this caller's copy. */
  signal?: AbortSignal | undefined;
}

export interface SharedStream {
  /** True for the caller whose `open` ran. */
  leader: boolean;
  meta: StreamMeta;
  /** This caller's copy: the parts already seen, then the live ones. */
  stream: ReadableStream<StreamPart>;
  /** Call when this caller stops reading before the end (it cancelled, or its abortSignal fired). Idempotent. */
  leave: (reason: unknown) => void;
  /** How many parts the provider stream has produced so far (all of them for a replayed recording). */
  produced: () => number;
}

function noop(): void {}

/** Rejects with the signal's reason when it fires first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function streamOf(parts: readonly StreamPart[]): ReadableStream<StreamPart> {
  return new ReadableStream<StreamPart>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

/**
 * Identical streamed calls in flight at once share one provider stream (core's StreamFlight): the first caller's
 * `open` runs, the others replay what it has produced so far and then follow it live. The provider call never
 * carries a caller's own abortSignal, so one caller giving up (the first one included) does not cut the others
 * off; once every caller has gone, the provider call is aborted.
 *
 * A caller looks the cache up before it joins, so a caller whose read began before the recording was written can
 * miss after the flight has ended. Such callers (told apart by the `mark()` taken before their read) get the
 * recording; a caller whose read began after the write landed and still missed (mode 'refresh', a store that
 * failed the write, an entry already expired) starts a new provider call.
 */
export class SharedStreams {
  // Without read-ahead: the provider is read as fast as the fastest caller reads, as it would be without sharing.
  private readonly flights = new StreamFlight<StreamPart, StreamMeta>({ cancelWhenAbandoned: true, readAhead: false });
  /** The crew of each flight, found by its `done` promise (one object per flight, shared by every ticket). */
  private readonly crews = new WeakMap<Promise<FlightOutcome<StreamPart>>, Crew>();
  private readonly recent = new Map<string, Recent>();
  private clock = 0;

  /**
   * @param retainMs How long a stored flight's recording is kept after its write landed, for callers whose cache
   *   read began before: the store's timeout bounds how late such a read ends.
   */
  constructor(private readonly retainMs: number) {}

  /** Flights in progress. */
  get size(): number {
    return this.flights.size;
  }

  /** Take before the cache read; pass to `share` after a miss. */
  mark(): number {
    return this.clock++;
  }

  /**
   * Joins the flight for `key` or starts it (or replays one that ended while this caller's read was in progress).
   * Rejects with what `open` threw, or with this caller's abort reason.
   */
  async share(key: string, since: number, options: ShareOptions): Promise<SharedStream> {
    const recent = this.recent.get(key);
    if (recent && (recent.landed === undefined || since < recent.landed)) {
      const count = recent.parts.length;
      return { leader: false, meta: recent.meta, stream: streamOf(recent.parts), leave: noop, produced: () => count };
    }
    const created: Crew = { controller: new AbortController(), members: 0, settled: false };
    let opened: StreamMeta | undefined;
    const open = async () => {
      const { stream, ...meta } = await options.open(created.controller.signal);
      opened = meta as StreamMeta;
      return { stream: stream as ReadableStream<StreamPart>, meta: opened };
    };
    const ticket = this.flights.join(key, open, {
      onEnd: (outcome) => {
        const writing = options.onEnd?.(outcome);
        if (outcome.status === 'done' && writing !== undefined && opened !== undefined) {
          this.retain(key, outcome.chunks, opened, writing);
        }
        return undefined;
      },
    });
    // A follower's crew was registered by its leader, synchronously after its join.
    const crew = (ticket.leader ? undefined : this.crews.get(ticket.done)) ?? created;
    if (ticket.leader) {
      this.crews.set(ticket.done, crew);
      ticket.done.then(() => {
        crew.settled = true;
      });
    }
    crew.members++;
    let left = false;
    const leave = (reason: unknown) => {
      if (left) return;
      left = true;
      crew.members--;
      if (crew.members === 0 && !crew.settled) crew.controller.abort(reason);
    };
    let meta: StreamMeta;
    try {
      meta = await (options.signal ? untilAborted(ticket.ready, options.signal) : ticket.ready);
    } catch (error) {
      ticket.stream.cancel(error).catch(noop);
      leave(error);
      throw error;
    }
    return { leader: ticket.leader, meta, stream: ticket.stream, leave, produced: ticket.produced };
  }

  private retain(key: string, parts: readonly StreamPart[], meta: StreamMeta, writing: Promise<unknown>): void {
    const recent: Recent = { parts, meta, landed: undefined };
    this.recent.set(key, recent);
    const drop = () => {
      recent.landed = this.clock;
      // Unref'd: keeping a recording a little longer must never keep a process alive.
      setTimeout(() => {
        if (this.recent.get(key) === recent) this.recent.delete(key);
      }, this.retainMs).unref?.();
    };
    writing.then(drop, drop);
  }
}
