// Messages held for delayed delivery, ordered by the time they become ready.
// A binary min-heap: the engine's timer always looks at the earliest one only.

export interface Delayed<T> {
  readyAt: number;
  item: T;
}

/** Min-heap on readyAt. */
export class DelayHeap<T> {
  private readonly heap: Delayed<T>[] = [];

  get length(): number {
    return this.heap.length;
  }

  push(readyAt: number, item: T): void {
    const h = this.heap;
    h.push({ readyAt, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.readyAt <= h[i]!.readyAt) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  /** Earliest readyAt, or Infinity when empty. */
  nextAt(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0]!.readyAt;
  }

  /** Removes and returns every item with readyAt <= now, earliest first. */
  popDue(now: number): T[] {
    const out: T[] = [];
    while (this.heap.length > 0 && this.heap[0]!.readyAt <= now) out.push(this.pop()!);
    return out;
  }

  /** Calls `fn` for every item, in no particular order. */
  forEach(fn: (readyAt: number, item: T) => void): void {
    for (const d of this.heap) fn(d.readyAt, d.item);
  }

  /** Removes every item for which `drop` is true (queue deleted or purged). */
  removeWhere(drop: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: Delayed<T>[] = [];
    for (const d of this.heap) (drop(d.item) ? removed.push(d.item) : kept.push(d));
    this.heap.length = 0;
    for (const d of kept) this.push(d.readyAt, d.item);
    return removed;
  }

  private pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.readyAt < h[m]!.readyAt) m = l;
        if (r < h.length && h[r]!.readyAt < h[m]!.readyAt) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top.item;
  }
}
