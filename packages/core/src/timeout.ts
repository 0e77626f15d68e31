import { LlmemoError } from './errors.js';

/** How late a timeout may fire: deadlines are checked on one shared interval of this period, never early. */
export const DEADLINE_TICK_MS = 5;

interface Deadline {
  readonly at: number;
  readonly bucket: number;
  readonly expire: () => void;
}

/**
 * Every pending store operation's deadline, on one interval instead of a setTimeout and clearTimeout each: arming
 * and clearing a timer per operation (with the promises of a race) was a visible share of a Redis hit. Deadlines are
 * grouped by tick, so a check touches only the groups that are due. The interval runs while deadlines are pending
 * (it keeps the process alive exactly as a pending timer did) and stops at the first tick that finds none.
 */
class Deadlines {
  private readonly buckets = new Map<number, Set<Deadline>>();
  private pending = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  add(ms: number, expire: () => void): Deadline {
    const at = performance.now() + ms;
    const deadline: Deadline = { at, bucket: Math.ceil(at / DEADLINE_TICK_MS), expire };
    let bucket = this.buckets.get(deadline.bucket);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(deadline.bucket, bucket);
    }
    bucket.add(deadline);
    this.pending++;
    this.timer ??= setInterval(() => this.check(), DEADLINE_TICK_MS);
    return deadline;
  }

  delete(deadline: Deadline): void {
    const bucket = this.buckets.get(deadline.bucket);
    if (bucket?.delete(deadline)) {
      this.pending--;
      if (bucket.size === 0) this.buckets.delete(deadline.bucket);
    }
  }

  private check(): void {
    if (this.pending === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = performance.now();
    const due = Math.ceil(now / DEADLINE_TICK_MS);
    for (const [index, bucket] of this.buckets) {
      if (index > due) continue;
      for (const deadline of bucket) {
        if (deadline.at > now) continue;
        this.delete(deadline);
        deadline.expire();
      }
    }
  }
}

const deadlines = new Deadlines();

/**
 * Races a store operation against its deadline. The operation itself keeps running (Keyv has no cancellation), but
 * the caller stops waiting; its late rejection is swallowed so it cannot become an unhandled rejection.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const deadline = deadlines.add(ms, () => reject(new LlmemoError('STORE_TIMEOUT', describe())));
    promise.then(
      (value) => {
        deadlines.delete(deadline);
        resolve(value);
      },
      (error: unknown) => {
        deadlines.delete(deadline);
        reject(error);
      },
    );
  });
}
