import { Heap } from 'heap-js';

/**
 * The first `limit` items of a stream in `compare` order, holding no more than `limit` at once: `ls` over a
 * store of millions keeps a listing's worth of metadata, never the whole store. `limit` 0 keeps everything.
 */
export class TopN<T> {
  // Ordered the other way round, so the heap's top is the kept item that would be dropped first.
  private readonly heap: Heap<T>;
  private seen = 0;

  constructor(
    private readonly limit: number,
    private readonly compare: (a: T, b: T) => number,
  ) {
    this.heap = new Heap<T>((a, b) => compare(b, a));
  }

  add(item: T): void {
    this.seen++;
    if (this.limit === 0 || this.heap.length < this.limit) {
      this.heap.push(item);
      return;
    }
    if (this.compare(item, this.heap.peek() as T) < 0) this.heap.replace(item);
  }

  /** How many items were added and not kept. */
  get dropped(): number {
    return this.seen - this.heap.length;
  }

  /** The kept items, first to last. */
  sorted(): T[] {
    return this.heap.toArray().sort(this.compare);
  }
}
