import type {
  FailOptions,
  Latency,
  RecordedRequest,
  ReplyRequest,
  RequestMatcher,
  Responder,
  ScriptedReply,
} from './types.js';

interface Pending<T> {
  remaining: number;
  readonly match: RequestMatcher | undefined;
  readonly value: T;
}

export function matches(matcher: RequestMatcher | undefined, request: RecordedRequest): boolean {
  if (matcher === undefined) return true;
  return typeof matcher === 'string' ? request.path === matcher : matcher(request);
}

/** Takes one use of the first pending entry that matches the request. */
function take<T>(entries: Pending<T>[], request: RecordedRequest): T | undefined {
  const index = entries.findIndex((entry) => entry.remaining > 0 && matches(entry.match, request));
  const entry = entries[index];
  if (!entry) return undefined;
  entry.remaining -= 1;
  if (entry.remaining <= 0) entries.splice(index, 1);
  return entry.value;
}

/** Everything a test can set to steer the server; reset() returns it to plain deterministic echoing. */
export class Controls {
  private responder: Responder | undefined;
  private readonly queue: ScriptedReply[] = [];
  private readonly failures: Pending<FailOptions>[] = [];
  private readonly hangs: Pending<true>[] = [];
  private readonly cuts: number[] = [];
  latency: Required<Latency> = { firstTokenMs: 0, perTokenMs: 0, responseMs: 0 };

  script(reply: ScriptedReply | Responder): void {
    this.responder = typeof reply === 'function' ? reply : () => reply;
  }

  enqueue(replies: readonly ScriptedReply[]): void {
    this.queue.push(...replies);
  }

  setLatency(latency: Latency): void {
    this.latency = { firstTokenMs: 0, perTokenMs: 0, responseMs: 0, ...latency };
  }

  failNext(n: number, options: FailOptions): void {
    if (n > 0) this.failures.push({ remaining: n, match: options.match, value: options });
  }

  hangNext(n: number, match: RequestMatcher | undefined): void {
    if (n > 0) this.hangs.push({ remaining: n, match, value: true });
  }

  cutNextStream(afterChunks: number): void {
    this.cuts.push(afterChunks);
  }

  takeFailure(request: RecordedRequest): FailOptions | undefined {
    return take(this.failures, request);
  }

  takeHang(request: RecordedRequest): boolean {
    return take(this.hangs, request) === true;
  }

  /** Consumed only by streaming responses, so a non-streaming call in between does not use it up. */
  takeCut(): number | undefined {
    return this.cuts.shift();
  }

  /** The queue first, then the persistent script; undefined means the default reply. */
  async replyFor(request: ReplyRequest): Promise<ScriptedReply | undefined> {
    const queued = this.queue.shift();
    if (queued) return queued;
    return this.responder ? await this.responder(request) : undefined;
  }

  reset(): void {
    this.responder = undefined;
    this.queue.length = 0;
    this.failures.length = 0;
    this.hangs.length = 0;
    this.cuts.length = 0;
    this.latency = { firstTokenMs: 0, perTokenMs: 0, responseMs: 0 };
  }
}
