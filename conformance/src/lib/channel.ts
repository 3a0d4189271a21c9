/**
 * A push-driven async iterable with one consumer: the reference server pushes
 * messages into a stream from timers and script steps, while Connect reads
 * the stream's responses from an async iterable.
 */
export class Channel<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void } | undefined;
  #closed = false;
  #error: { err: unknown } | undefined;

  get closed(): boolean {
    return this.#closed;
  }

  /** False once closed: the item was not queued. */
  push(item: T): boolean {
    if (this.#closed) return false;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
    return true;
  }

  /** Ends the iteration after the queued items. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#settle();
  }

  /** Ends the iteration with an error after the queued items. */
  fail(err: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = { err };
    this.#settle();
  }

  #settle(): void {
    const w = this.#waiter;
    if (!w || this.#items.length > 0) return;
    this.#waiter = undefined;
    if (this.#error) w.reject(this.#error.err);
    else w.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
        if (this.#error) return Promise.reject(this.#error.err);
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<T>>((resolve, reject) => (this.#waiter = { resolve, reject }));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (err: unknown) => {
        this.close();
        return Promise.reject(err);
      },
    };
  }
}
