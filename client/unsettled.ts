// The deliveries of one socket not settled yet, by delivery tag, so `multiple` can settle every
// earlier one locally exactly as the broker settles them on its side.

/**
 * Unsettled deliveries of one socket, keyed by delivery tag. The hot path is one Map.set per
 * delivery and one Map.delete per settle; only a `multiple` settle walks the map.
 *
 * Invariant: while `inOrder`, the Map's insertion order is tag order, so a walk can stop at the
 * first larger tag. The broker numbers deliveries in increasing order per connection (AMQP: per
 * channel), but a get() reply may overtake deliveries it is still holding back for a full
 * socket; the first such tag drops `inOrder`, and walks then scan the whole map.
 */
export class Unsettled<T> {
  private readonly byTag = new Map<number, T>();
  private lastTag = 0;
  private inOrder = true;

  /** Number of deliveries still unsettled. */
  get size(): number {
    return this.byTag.size;
  }

  /** Records a delivery that must be settled. */
  add(tag: number, item: T): void {
    if (tag < this.lastTag) this.inOrder = false;
    else this.lastTag = tag;
    this.byTag.set(tag, item);
  }

  /** Forgets a delivery (it was settled); false when it was not recorded. */
  delete(tag: number): boolean {
    return this.byTag.delete(tag);
  }

  /** Removes and returns every delivery with a tag below `tag`, in tag order. */
  takeBefore(tag: number): T[] {
    const out: T[] = [];
    if (this.inOrder) {
      for (const [t, item] of this.byTag) {
        if (t >= tag) break;
        out.push(item);
        this.byTag.delete(t);
      }
      return out;
    }
    const tags: number[] = [];
    for (const t of this.byTag.keys()) if (t < tag) tags.push(t);
    tags.sort((a, b) => a - b);
    for (const t of tags) {
      out.push(this.byTag.get(t)!);
      this.byTag.delete(t);
    }
    return out;
  }
}
