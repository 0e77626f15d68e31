import type { FlightListener, FlightTicket } from '@llmemo/core';

/** A stateful rewrite of a byte stream, chunk by chunk (the client's copy without usage, say). */
export interface ChunkTransform {
  /** The bytes to pass on for this chunk (possibly none yet). */
  push(chunk: Uint8Array): Uint8Array;
  /** What is left once the source ended cleanly. */
  end(): Uint8Array;
}

/**
 * A streamed answer's body while it is still a flight ticket: the Node path listens to it (each chunk written as
 * the upstream's socket brings it, no Web stream or promise in between), the fetch path reads it as the Web stream
 * its `Response` needs. Either way the client gets the same bytes, through `transform` when there is one.
 */
export class ChunkBody {
  constructor(
    private readonly ticket: FlightTicket<Uint8Array, unknown>,
    private readonly transform?: () => ChunkTransform,
  ) {}

  /** Listens to the ticket; returns the cancel (the client left). */
  listen(listener: FlightListener<Uint8Array>): () => void {
    const { transform } = this;
    if (!transform) return this.ticket.listen(listener);
    const rewrite = transform();
    return this.ticket.listen({
      chunk: (chunk) => {
        const out = rewrite.push(chunk);
        if (out.byteLength > 0) listener.chunk(out);
      },
      end: () => {
        const out = rewrite.end();
        if (out.byteLength > 0) listener.chunk(out);
        listener.end();
      },
      error: (error) => listener.error(error),
    });
  }

  /** The body as a Web stream. */
  stream(): ReadableStream<Uint8Array> {
    const { transform } = this;
    return transform ? transformed(this.ticket.stream, transform()) : this.ticket.stream;
  }
}

/** A Web stream through a chunk transform (empty outputs are not enqueued). */
export function transformed(stream: ReadableStream<Uint8Array>, rewrite: ChunkTransform): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const out = rewrite.push(chunk);
        if (out.byteLength > 0) controller.enqueue(out);
      },
      flush(controller) {
        const out = rewrite.end();
        if (out.byteLength > 0) controller.enqueue(out);
      },
    }),
  );
}
