import { describe, expect, it, vi } from 'vitest';
import { type FlightListener, type FlightOutcome, type PushSource, StreamFlight } from '../src/index.js';

/** A source the test drives by hand: push chunks, end it or fail it; counts reads and records a cancel. */
function controlledSource<T>() {
  let controller!: ReadableStreamDefaultController<T>;
  const state = { pulls: 0, cancelled: false as boolean, reason: undefined as unknown };
  const stream = new ReadableStream<T>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        state.pulls++;
      },
      cancel(reason) {
        state.cancelled = true;
        state.reason = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    state,
    push: (chunk: T) => controller.enqueue(chunk),
    end: () => controller.close(),
    fail: (error: unknown) => controller.error(error),
  };
}

async function readAll<T>(stream: ReadableStream<T>, onChunk?: (chunk: T) => void): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
    onChunk?.(value);
  }
}

/** Lets the pump and pending reads run. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('StreamFlight', () => {
  it('gives a single caller every chunk and reports the outcome with all chunks', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    const ticket = flight.join('k', () => source.stream);
    expect(ticket.leader).toBe(true);
    await ticket.ready;
    const read = readAll(ticket.stream);
    source.push('a');
    source.push('b');
    source.end();
    expect(await read).toEqual(['a', 'b']);
    expect(await ticket.done).toEqual({ status: 'done', chunks: ['a', 'b'] });
    await tick();
    expect(flight.has('k')).toBe(false);
    expect(flight.size).toBe(0);
  });

  it('opens the source once; a late follower gets the chunks already seen, then the live ones', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    const open = vi.fn(() => source.stream);
    const leader = flight.join('k', open);
    const leaderRead = readAll(leader.stream);
    source.push('one');
    source.push('two');
    await tick();
    const follower = flight.join('k', open);
    expect(follower.leader).toBe(false);
    const followerRead = readAll(follower.stream);
    source.push('three');
    source.end();
    expect(await leaderRead).toEqual(['one', 'two', 'three']);
    expect(await followerRead).toEqual(['one', 'two', 'three']);
    expect(open).toHaveBeenCalledTimes(1);
  });

  it('hands every caller the meta that open returned alongside the stream', async () => {
    const flight = new StreamFlight<string, { status: number }>();
    const source = controlledSource<string>();
    const leader = flight.join('k', async () => ({ stream: source.stream, meta: { status: 200 } }));
    const follower = flight.join('k', () => {
      throw new Error('a follower never opens');
    });
    expect(await leader.ready).toEqual({ status: 200 });
    expect(await follower.ready).toBe(await leader.ready);
    source.push('body');
    source.end();
    expect(await readAll(follower.stream)).toEqual(['body']);
    expect(await new StreamFlight<string>().join('bare', () => new ReadableStream()).ready).toBeUndefined();
  });

  it('reads the source even when no caller is reading (chunks are kept for late callers)', async () => {
    const flight = new StreamFlight<number>();
    const source = controlledSource<number>();
    const ticket = flight.join('k', () => source.stream);
    for (let i = 0; i < 5; i++) source.push(i);
    source.end();
    const outcome = await ticket.done;
    expect(outcome).toEqual({ status: 'done', chunks: [0, 1, 2, 3, 4] });
    expect(await readAll(ticket.stream)).toEqual([0, 1, 2, 3, 4]);
  });

  it('fails every caller with the same error after the chunks they had not yet seen', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    const boom = new Error('upstream cut');
    const a = flight.join('k', () => source.stream);
    const b = flight.join('k', () => source.stream);
    const seenA: string[] = [];
    const seenB: string[] = [];
    const readA = readAll(a.stream, (chunk) => seenA.push(chunk));
    const readB = readAll(b.stream, (chunk) => seenB.push(chunk));
    source.push('x');
    await tick();
    source.fail(boom);
    await expect(readA).rejects.toBe(boom);
    await expect(readB).rejects.toBe(boom);
    expect(seenA).toEqual(['x']);
    expect(seenB).toEqual(['x']);
    const outcome = await a.done;
    expect(outcome.status).toBe('error');
    expect((outcome as Extract<FlightOutcome<string>, { status: 'error' }>).error).toBe(boom);
    // A failed flight is gone at once: the next caller starts afresh.
    expect(flight.has('k')).toBe(false);
    const again = controlledSource<string>();
    expect(flight.join('k', () => again.stream).leader).toBe(true);
  });

  it('rejects ready and errors the streams when open throws or rejects', async () => {
    const flight = new StreamFlight<string>();
    const refused = new Error('connect ECONNREFUSED');
    const leader = flight.join('k', async () => {
      throw refused;
    });
    const follower = flight.join('k', () => {
      throw new Error('a follower never opens');
    });
    await expect(leader.ready).rejects.toBe(refused);
    await expect(follower.ready).rejects.toBe(refused);
    await expect(readAll(follower.stream)).rejects.toBe(refused);
    expect((await leader.done).status).toBe('error');

    const sync = flight.join('s', () => {
      throw refused;
    });
    await expect(sync.ready).rejects.toBe(refused);
  });

  it('a follower that cancels does not cancel the leader, the other followers or the source', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    const leader = flight.join('k', () => source.stream);
    const quitter = flight.join('k', () => source.stream);
    const stayer = flight.join('k', () => source.stream);
    const leaderRead = readAll(leader.stream);
    const stayerRead = readAll(stayer.stream);
    const reader = quitter.stream.getReader();
    source.push('1');
    expect(await reader.read()).toEqual({ done: false, value: '1' });
    await reader.cancel('client went away');
    source.push('2');
    source.end();
    expect(await leaderRead).toEqual(['1', '2']);
    expect(await stayerRead).toEqual(['1', '2']);
    expect(source.state.cancelled).toBe(false);
    expect((await leader.done).status).toBe('done');
  });

  it('the leader cancelling leaves the followers and the recording intact', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    const onEnd = vi.fn();
    const leader = flight.join('k', () => source.stream, { onEnd });
    const follower = flight.join('k', () => source.stream);
    const followerRead = readAll(follower.stream);
    await leader.stream.cancel();
    source.push('still');
    source.push('going');
    source.end();
    expect(await followerRead).toEqual(['still', 'going']);
    await tick();
    expect(onEnd).toHaveBeenCalledWith({ status: 'done', chunks: ['still', 'going'] });
  });

  it('cancels the source when every caller has cancelled, and reports the flight cancelled', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    const onEnd = vi.fn();
    const a = flight.join('k', () => source.stream, { onEnd });
    const b = flight.join('k', () => source.stream);
    source.push('partial');
    await tick();
    await a.stream.cancel();
    expect(source.state.cancelled).toBe(false);
    await b.stream.cancel();
    expect(source.state.cancelled).toBe(true);
    // Gone from the registry at once: a new caller leads a new flight instead of joining a dying one.
    expect(flight.has('k')).toBe(false);
    const outcome = await a.done;
    expect(outcome.status).toBe('cancelled');
    expect(onEnd).toHaveBeenCalledWith(expect.objectContaining({ status: 'cancelled' }));
    const fresh = controlledSource<string>();
    const next = flight.join('k', () => fresh.stream);
    expect(next.leader).toBe(true);
    fresh.push('new');
    fresh.end();
    expect(await readAll(next.stream)).toEqual(['new']);
  });

  it('cancels a source that opens after every caller already left', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    let open!: (stream: ReadableStream<string>) => void;
    const ticket = flight.join('k', () => new Promise<ReadableStream<string>>((resolve) => (open = resolve)));
    await ticket.stream.cancel();
    open(source.stream);
    expect((await ticket.done).status).toBe('cancelled');
    expect(source.state.cancelled).toBe(true);
  });

  it('with cancelWhenAbandoned false, reads the source to its end after every caller left', async () => {
    const flight = new StreamFlight<string>({ cancelWhenAbandoned: false });
    const source = controlledSource<string>();
    const ticket = flight.join('k', () => source.stream);
    await ticket.stream.cancel();
    source.push('recorded');
    source.end();
    expect(await ticket.done).toEqual({ status: 'done', chunks: ['recorded'] });
    expect(source.state.cancelled).toBe(false);
  });

  it('stays joinable with a full replay until the onEnd promise settles, then retires', async () => {
    const flight = new StreamFlight<string>();
    const source = controlledSource<string>();
    let settle!: () => void;
    const written = new Promise<void>((resolve) => (settle = resolve));
    const open = vi.fn(() => source.stream);
    const leader = flight.join('k', open, { onEnd: () => written });
    source.push('a');
    source.push('b');
    source.end();
    await leader.done;
    expect(flight.has('k')).toBe(true);
    const late = flight.join('k', open);
    expect(late.leader).toBe(false);
    expect(await readAll(late.stream)).toEqual(['a', 'b']);
    expect(open).toHaveBeenCalledTimes(1);
    settle();
    await tick();
    expect(flight.has('k')).toBe(false);
  });

  it('retires even when onEnd throws or rejects, and ignores a follower onEnd', async () => {
    const flight = new StreamFlight<string>();
    const first = controlledSource<string>();
    const followerEnd = vi.fn();
    const a = flight.join('throws', () => first.stream, {
      onEnd: () => {
        throw new Error('listener bug');
      },
    });
    flight.join('throws', () => first.stream, { onEnd: followerEnd });
    first.end();
    await a.done;
    await tick();
    expect(flight.has('throws')).toBe(false);
    expect(followerEnd).not.toHaveBeenCalled();

    const second = controlledSource<string>();
    const b = flight.join('rejects', () => second.stream, { onEnd: () => Promise.reject(new Error('write failed')) });
    second.end();
    await b.done;
    await tick();
    expect(flight.has('rejects')).toBe(false);
  });

  it('keeps keys apart', async () => {
    const flight = new StreamFlight<string>();
    const one = controlledSource<string>();
    const two = controlledSource<string>();
    const a = flight.join('one', () => one.stream);
    const b = flight.join('two', () => two.stream);
    expect(b.leader).toBe(true);
    one.push('1');
    one.end();
    two.push('2');
    two.end();
    expect(await readAll(a.stream)).toEqual(['1']);
    expect(await readAll(b.stream)).toEqual(['2']);
  });

  it('serves 200 concurrent callers from one source read once', async () => {
    const flight = new StreamFlight<Uint8Array>();
    const source = controlledSource<Uint8Array>();
    const open = vi.fn(() => source.stream);
    const tickets = Array.from({ length: 200 }, () => flight.join('k', open));
    const reads = tickets.map((ticket) => readAll(ticket.stream));
    const chunks = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(`data: ${i}\n\n`));
    for (const [i, chunk] of chunks.entries()) {
      source.push(chunk);
      if (i % 10 === 0) await tick();
    }
    source.end();
    const results = await Promise.all(reads);
    expect(open).toHaveBeenCalledTimes(1);
    expect(tickets.filter((ticket) => ticket.leader)).toHaveLength(1);
    for (const result of results) expect(result).toEqual(chunks);
    // The pump pulled each chunk once (plus the final read that saw the end), not once per caller.
    expect(source.state.pulls).toBeLessThanOrEqual(chunks.length + 1);
  });
});

describe('StreamFlight without read-ahead', () => {
  it('reads the source only while a caller waits for a chunk, and to its end once no caller is left', async () => {
    let pulls = 0;
    const source = () =>
      new ReadableStream<number>(
        {
          pull(controller) {
            pulls++;
            if (pulls <= 3) controller.enqueue(pulls);
            else controller.close();
          },
        },
        { highWaterMark: 0 },
      );
    const flight = new StreamFlight<number>({ readAhead: false, cancelWhenAbandoned: false });
    const ticket = flight.join('k', source);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pulls).toBe(0);
    const reader = ticket.stream.getReader();
    expect((await reader.read()).value).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pulls).toBe(1);
    expect(ticket.produced()).toBe(1);
    // A late follower replays what was read, then paces the source as well.
    const follower = flight.join('k', source);
    const followed = follower.stream.getReader();
    expect((await followed.read()).value).toBe(1);
    expect((await followed.read()).value).toBe(2);
    expect(pulls).toBe(2);
    // Both leave: nobody paces it any more, so it is read to its end and recorded.
    await reader.cancel();
    await followed.cancel();
    const outcome = await ticket.done;
    expect(outcome).toEqual({ status: 'done', chunks: [1, 2, 3] });
  });
});

/** A push source the test drives by hand; records starts and cancels. */
function pushSource<T>() {
  let sink: FlightListener<T> | undefined;
  const state = { started: 0, cancelled: 0 };
  const source: PushSource<T> = {
    start(s) {
      state.started++;
      sink = s;
    },
    cancel() {
      state.cancelled++;
    },
  };
  return {
    source,
    state,
    push: (chunk: T) => sink!.chunk(chunk),
    end: () => sink!.end(),
    fail: (error: unknown) => sink!.error(error),
  };
}

/** A listener that records what it was told, in order. */
function recording<T>() {
  const told: (T | { end: true } | { error: unknown })[] = [];
  const listener: FlightListener<T> = {
    chunk: (value) => told.push(value),
    end: () => told.push({ end: true }),
    error: (error) => told.push({ error }),
  };
  return { told, listener };
}

describe('StreamFlight listeners and push sources', () => {
  it('pushes the chunks seen so far at once, then each live one synchronously, then the end', async () => {
    const flight = new StreamFlight<string, { status: number }>();
    const source = pushSource<string>();
    const leader = flight.join('k', () => ({ push: source.source, meta: { status: 200 } }));
    expect(await leader.ready).toEqual({ status: 200 });
    expect(source.state.started).toBe(1);
    source.push('a');
    const late = recording<string>();
    const first = recording<string>();
    leader.listen(first.listener);
    expect(first.told).toEqual(['a']);
    source.push('b');
    // Synchronous: no tick between the source's push and the listener.
    expect(first.told).toEqual(['a', 'b']);
    const follower = flight.join('k', () => {
      throw new Error('a follower must not open the source');
    });
    follower.listen(late.listener);
    expect(late.told).toEqual(['a', 'b']);
    source.push('c');
    source.end();
    expect(first.told).toEqual(['a', 'b', 'c', { end: true }]);
    expect(late.told).toEqual(['a', 'b', 'c', { end: true }]);
    expect(await leader.done).toEqual({ status: 'done', chunks: ['a', 'b', 'c'] });
  });

  it('a listener and a stream reader of one flight get the same chunks; a push source feeds stream readers too', async () => {
    const flight = new StreamFlight<string>();
    const source = pushSource<string>();
    const leader = flight.join('k', () => ({ push: source.source, meta: undefined }));
    const follower = flight.join('k', () => source.source as never);
    await leader.ready;
    const heard = recording<string>();
    leader.listen(heard.listener);
    const read = readAll(follower.stream);
    source.push('x');
    await tick();
    source.push('y');
    source.end();
    expect(await read).toEqual(['x', 'y']);
    expect(heard.told).toEqual(['x', 'y', { end: true }]);
  });

  it('tells listeners the source error after the chunks they had not seen', async () => {
    const flight = new StreamFlight<string>();
    const source = pushSource<string>();
    const ticket = flight.join('k', () => ({ push: source.source, meta: undefined }));
    await ticket.ready;
    source.push('a');
    const boom = new Error('upstream broke');
    source.fail(boom);
    const heard = recording<string>();
    ticket.listen(heard.listener);
    expect(heard.told).toEqual(['a', { error: boom }]);
    expect(await ticket.done).toEqual({ status: 'error', error: boom, chunks: ['a'] });
    // Anything the source pushes after its end is ignored.
    source.push('late');
    expect((await ticket.done).chunks).toEqual(['a']);
  });

  it('cancels the push source once every caller cancelled, ending the flight cancelled; one cancel leaves the others', async () => {
    const flight = new StreamFlight<string>();
    const source = pushSource<string>();
    const leader = flight.join('k', () => ({ push: source.source, meta: undefined }));
    const follower = flight.join('k', () => source.source as never);
    await leader.ready;
    const first = recording<string>();
    const second = recording<string>();
    const cancelFirst = leader.listen(first.listener);
    const cancelSecond = follower.listen(second.listener);
    source.push('a');
    cancelFirst();
    source.push('b');
    expect(source.state.cancelled).toBe(0);
    expect(first.told).toEqual(['a']);
    expect(second.told).toEqual(['a', 'b']);
    cancelSecond();
    expect(source.state.cancelled).toBe(1);
    expect(await leader.done).toEqual({ status: 'cancelled', chunks: ['a', 'b'] });
    expect(flight.has('k')).toBe(false);
    // A cancelled listener hears nothing more, not even the end.
    expect(second.told).toEqual(['a', 'b']);
    cancelSecond();
    expect(source.state.cancelled).toBe(1);
  });

  it('a listener that cancels from inside its chunk callback stops there', async () => {
    const flight = new StreamFlight<string>();
    const source = pushSource<string>();
    const ticket = flight.join('k', () => ({ push: source.source, meta: undefined }));
    await ticket.ready;
    source.push('a');
    source.push('b');
    const told: string[] = [];
    let cancel: () => void = () => {};
    cancel = ticket.listen({
      chunk: (value) => {
        told.push(value);
        cancel();
      },
      end: () => told.push('end'),
      error: () => told.push('error'),
    });
    // 'a' arrives while listen() runs, before it returned the cancel; 'b' too, then the live 'c' cancels.
    source.push('c');
    expect(told).toEqual(['a', 'b', 'c']);
    expect(source.state.cancelled).toBe(1);
  });

  it('cancels a push source that opens after every caller already left', async () => {
    const flight = new StreamFlight<string>();
    const source = pushSource<string>();
    let open!: (value: { push: PushSource<string>; meta: undefined }) => void;
    const ticket = flight.join('k', () => new Promise((resolve) => (open = resolve)));
    ticket.listen(recording<string>().listener)();
    open({ push: source.source, meta: undefined });
    expect(await ticket.done).toEqual({ status: 'cancelled', chunks: [] });
    expect(source.state.started).toBe(0);
    expect(source.state.cancelled).toBe(1);
  });

  it('a push source whose start throws fails the flight', async () => {
    const flight = new StreamFlight<string>();
    const boom = new Error('no start');
    let cancelled = 0;
    const ticket = flight.join('k', () => ({
      push: {
        start: () => {
          throw boom;
        },
        cancel: () => {
          cancelled++;
        },
      },
      meta: undefined,
    }));
    const heard = recording<string>();
    await ticket.ready;
    ticket.listen(heard.listener);
    expect(heard.told).toEqual([{ error: boom }]);
    expect(cancelled).toBe(1);
  });

  it('a ticket is read one way: .stream after .listen throws, and the other way round', () => {
    const flight = new StreamFlight<string>();
    const a = flight.join('a', () => ({ push: pushSource<string>().source, meta: undefined }));
    a.listen(recording<string>().listener);
    expect(() => a.stream).toThrow(/not both/);
    const b = flight.join('b', () => ({ push: pushSource<string>().source, meta: undefined }));
    void b.stream;
    expect(() => b.listen(recording<string>().listener)).toThrow(/not both/);
  });

  it('without read-ahead, a listener keeps a stream source read', async () => {
    const flight = new StreamFlight<string>({ readAhead: false });
    const source = controlledSource<string>();
    const ticket = flight.join('k', () => source.stream);
    await ticket.ready;
    const heard = recording<string>();
    ticket.listen(heard.listener);
    source.push('a');
    await tick();
    source.push('b');
    await tick();
    source.end();
    await ticket.done;
    expect(heard.told).toEqual(['a', 'b', { end: true }]);
  });
});
