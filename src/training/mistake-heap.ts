import type { Mistake } from '../domain/evaluation.js';

// Less confident first; at equal confidence the later example counts as less important.
const weaker = (a: Mistake, b: Mistake): boolean =>
  a.confidence < b.confidence || (a.confidence === b.confidence && a.index > b.index);

/** Keeps the `capacity` most confident mistakes seen, in O(log capacity) per offer. */
export class MistakeHeap {
  // A min-heap on confidence: the root is the weakest mistake kept, the first to go.
  private readonly items: Mistake[] = [];

  constructor(private readonly capacity: number) {}

  offer(mistake: Mistake): void {
    if (this.capacity <= 0) return;
    if (this.items.length < this.capacity) {
      this.items.push(mistake);
      this.siftUp(this.items.length - 1);
    } else if (weaker(this.items[0] as Mistake, mistake)) {
      this.items[0] = mistake;
      this.siftDown(0);
    }
  }

  /** The mistakes kept, most confident first (ties: lower index first). */
  sorted(): Mistake[] {
    return [...this.items].sort((a, b) => (weaker(a, b) ? 1 : weaker(b, a) ? -1 : 0));
  }

  private siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.swapIfWeaker(index, parent)) return;
      index = parent;
    }
  }

  private siftDown(start: number): void {
    let index = start;
    for (;;) {
      let weakest = index;
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (child < this.items.length && weaker(this.items[child] as Mistake, this.items[weakest] as Mistake))
          weakest = child;
      }
      if (weakest === index) return;
      this.swapIfWeaker(weakest, index);
      index = weakest;
    }
  }

  // Swaps a and b when a is weaker than b; says whether it did.
  private swapIfWeaker(a: number, b: number): boolean {
    const itemA = this.items[a] as Mistake;
    const itemB = this.items[b] as Mistake;
    if (!weaker(itemA, itemB)) return false;
    this.items[a] = itemB;
    this.items[b] = itemA;
    return true;
  }
}
