/**
 * The ledger's write queue on this instance. One token's writes run one at a
 * time here, never racing each other (a lost race costs a read, crypto and a
 * retry), only other instances'; and concurrent sends of one token are written
 * together: one write for all that queued up while the previous one ran.
 */

/** Per owner: its writes one at a time, and the items queued meanwhile written together. */
export class WriteQueue<T> {
  readonly #write: (owner: string, items: T[]) => Promise<void>;
  /** Per owner: the tail of its writes on this instance. */
  readonly #writing = new Map<string, Promise<void>>();
  /** Per owner: items waiting for the next write. */
  readonly #queued = new Map<string, { items: readonly T[]; done: () => void }[]>();

  /** `write` writes an owner's queued items; it never throws (it logs a failure). */
  constructor(write: (owner: string, items: T[]) => Promise<void>) {
    this.#write = write;
  }

  /** Queue `items` for `owner`'s next write; resolves once that write is over. */
  async push(owner: string, items: readonly T[]): Promise<void> {
    const queued = this.#queued.get(owner) ?? [];
    this.#queued.set(owner, queued);
    const done = Promise.withResolvers<void>();
    queued.push({ items, done: done.resolve });
    void this.serial(owner, () => this.#flush(owner));
    await done.promise;
  }

  /** Run `write` after every earlier write of `owner` on this instance has finished. */
  serial<R>(owner: string, write: () => Promise<R>): Promise<R> {
    const previous = this.#writing.get(owner) ?? Promise.resolve();
    const next = previous.then(write);
    const tail = next.then(() => {}, () => {});
    this.#writing.set(owner, tail);
    void tail.then(() => {
      if (this.#writing.get(owner) === tail) this.#writing.delete(owner);
    });
    return next;
  }

  /** Write everything queued for `owner` (nothing when an earlier flush took it). */
  async #flush(owner: string): Promise<void> {
    const queued = this.#queued.get(owner);
    if (!queued) return;
    this.#queued.delete(owner);
    try {
      await this.#write(owner, queued.flatMap((q) => q.items));
    } finally {
      for (const q of queued) q.done();
    }
  }
}
