// A growable ring buffer: O(1) push/shift/unshift, the ready list of every queue.
// Arrays' shift() is O(n) once V8 leaves its fast path; queues hold a million entries.

/** Double-ended queue of T. */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(capacity = 16) {
    this.buf = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) % this.buf.length] = item;
    this.size++;
  }

  unshift(item: T): void {
    if (this.size === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = item;
    this.size++;
  }

  /**
   * Puts `item` at the head, then moves it back past the leading items for which `before(x)`
   * holds. O(k) in the items passed, which for requeues is the few requeued ahead of it.
   */
  insertNearHead(item: T, before: (x: T) => boolean): void {
    this.unshift(item);
    const n = this.buf.length;
    for (let i = 0; i + 1 < this.size; i++) {
      const at = (this.head + i) % n;
      const nextAt = (at + 1) % n;
      const next = this.buf[nextAt] as T;
      if (!before(next)) break;
      this.buf[at] = next;
      this.buf[nextAt] = item;
    }
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return item;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.buf[this.head];
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
