/**
 * A push-driven async iterable with one consumer. Connect reads a bidi
 * request stream from an async iterable, but the worker produces messages
 * from timers and handlers, not from a loop; this bridges the two.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #failWaiter: ((err: unknown) => void) | undefined;
  #closed = false;
  #error: { err: unknown } | undefined;

  get closed(): boolean {
    return this.#closed;
  }

  /** False once closed: the item was not queued. */
  push(item: T): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = this.#failWaiter = undefined;
      waiter({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
    return true;
  }

  /** Ends the iteration after the queued items. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiter = this.#waiter;
    this.#waiter = this.#failWaiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** Ends the iteration with an error after the queued items. */
  fail(err: unknown): void {
    if (this.#closed) return;
    this.#error = { err };
    this.#closed = true;
    const failWaiter = this.#failWaiter;
    this.#waiter = this.#failWaiter = undefined;
    failWaiter?.(err);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
        if (this.#error) return Promise.reject(this.#error.err);
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          this.#waiter = resolve;
          this.#failWaiter = reject;
        });
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
      // Connect aborts a request stream by throwing into it (and requires that this exists).
      throw: (err: unknown) => {
        this.close();
        return Promise.reject(err);
      },
    };
  }
}
