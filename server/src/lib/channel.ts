/**
 * An unbounded single-consumer queue with an async iterator: what a server
 * stream handler yields from while other code pushes messages into it.
 * Unbounded is safe here because every producer is bounded by the session's
 * slots (Assign) or by the worker's own messages (Ack).
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  push(item: T): boolean {
    if (this.closed) return false;
    const waiter = this.waiting;
    if (waiter) {
      this.waiting = undefined;
      waiter({ value: item, done: false });
    } else {
      this.items.push(item);
    }
    return true;
  }

  /** Ends the iteration after the items already queued. */
  close(): void {
    this.closed = true;
    const waiter = this.waiting;
    if (waiter && this.items.length === 0) {
      this.waiting = undefined;
      waiter({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: () => {
        this.close();
        this.items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      // Connect's clients abort a request stream through throw(): end it like return().
      throw: (err?: unknown) => {
        this.close();
        this.items.length = 0;
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      },
    };
  }
}
