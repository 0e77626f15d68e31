import type { IncomingMessage } from 'node:http';
import { BadRequest } from './errors.js';
import { LARGE_BODY_BYTES, reclaimAfterLargeBody } from './reclaim.js';
import { declaredLength, type ProxyRequest } from './request.js';

/**
 * The bytes of request bodies the proxy holds at once (cached endpoints read the whole body to key it). Past the
 * bound a request is refused with 503 and `retry-after` instead of taking the process's memory with it.
 */
export class BodyBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

/** The share of the budget one request holds; released when its handler is done. */
export class BodyReservation {
  /** The most this request held: a large body schedules a collection once it is let go. */
  peak = 0;
  private held = 0;
  constructor(private readonly budget: BodyBudget) {}

  take(bytes: number): boolean {
    if (this.budget.used + bytes > this.budget.limit) return false;
    this.budget.used += bytes;
    this.held += bytes;
    if (this.held > this.peak) this.peak = this.held;
    return true;
  }

  release(): void {
    this.budget.used -= this.held;
    this.held = 0;
    if (this.peak >= LARGE_BODY_BYTES) reclaimAfterLargeBody();
  }
}

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
  budget: BodyBudget;
}

/**
 * A slow body's connection is closed (its sender is the problem). A body refused for its size is left to Node,
 * which reads and discards the rest (no memory held) so the client can read the refusal: closing a socket with
 * unread data resets it, and the client would see a reset instead of the 413 or 503.
 */
const CLOSE = { connection: 'close' };

function tooLarge(limit: number): BadRequest {
  return new BadRequest(
    `The request body is over the proxy's limit of ${limit} bytes. Send a smaller request, or raise --max-body-size.`,
    'request_too_large',
    null,
    413,
  );
}

function busy(budget: BodyBudget): BadRequest {
  return new BadRequest(
    `llmemo-proxy is holding ${Math.round(budget.limit / 1048576)} MiB of request bodies already (--max-inflight-bytes); retry in a moment.`,
    'proxy_overloaded',
    null,
    503,
    { 'retry-after': '1' },
  );
}

function slow(timeoutMs: number): BadRequest {
  return new BadRequest(
    `The request body did not arrive within ${Math.round(timeoutMs / 1000)} s (--body-timeout); send it faster or raise the limit.`,
    'request_timeout',
    null,
    408,
    CLOSE,
  );
}

/** Reads a Node request's body, stopping at the first limit it crosses. */
function readIncoming(incoming: IncomingMessage, take: (part: Uint8Array) => void, timeoutMs: number) {
  return new Promise<void>((resolve, reject) => {
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
      if (error === undefined) {
        resolve();
        return;
      }
      // Stop holding the body: Node discards the unread rest once the refusal is sent (a timeout closes instead).
      reject(error);
    };
    const onData = (part: Buffer) => {
      try {
        take(part);
      } catch (error) {
        finish(error);
      }
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    const onAborted = () => finish(new Error('the client closed the connection before sending the whole body'));
    const timer = setTimeout(() => finish(slow(timeoutMs)), timeoutMs);
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onError);
    incoming.once('aborted', onAborted);
  });
}

async function readWeb(body: ReadableStream<Uint8Array>, take: (part: Uint8Array) => void, timeoutMs: number) {
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(slow(timeoutMs)), timeoutMs);
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      take(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The request body, refused with 413 past `maxBytes`, 503 (`retry-after`) when the proxy already holds its budget
 * of body bytes, and 408 when it does not arrive within `timeoutMs`. On Node it is read straight from the
 * IncomingMessage: going through the Web Request the Node adapter builds on demand costs about 0.3 ms a request,
 * which is most of a cache hit's overhead (measured in test/bench/proxy.bench.ts).
 */
export async function readBody(request: ProxyRequest, limits: BodyLimits): Promise<Uint8Array> {
  const { incoming } = request;
  const declared = declaredLength(request);
  const { maxBytes, budget, timeoutMs } = limits;
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const reservation = request.reservation ?? new BodyReservation(budget);
  // A declared length is reserved up front, so a burst of large bodies is refused before any of it is read.
  let reserved = 0;
  if (declared > 0) {
    if (!reservation.take(declared)) throw busy(budget);
    reserved = declared;
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  // With a declared length the bytes go straight into one buffer: no list of chunks, no second copy to join them.
  let whole = declared > 0 ? Buffer.allocUnsafeSlow(declared) : undefined;
  const take = (part: Uint8Array) => {
    const end = size + part.byteLength;
    if (end > maxBytes) throw tooLarge(maxBytes);
    if (end > reserved) {
      if (!reservation.take(end - reserved)) throw busy(budget);
      reserved = end;
    }
    if (whole && end <= whole.byteLength) {
      whole.set(part, size);
    } else {
      // More than declared (only a Web body can): fall back to a list of chunks.
      if (whole) parts.push(whole.subarray(0, size));
      whole = undefined;
      parts.push(part);
    }
    size = end;
  };
  try {
    if (incoming && !incoming.readableEnded) await readIncoming(incoming, take, timeoutMs);
    else {
      const web = request.webBody();
      if (web) await readWeb(web, take, timeoutMs);
    }
  } finally {
    if (!request.reservation) reservation.release();
  }
  if (whole) return size === whole.byteLength ? whole : whole.subarray(0, size);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}
