import type { Logger } from "./logger.js";

type Listener<T> = (event: T) => void;

/**
 * A small typed emitter. Listeners are observers: one that throws is logged
 * and skipped, so a faulty metrics hook cannot stall the worker's protocol.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Returns a function that removes the listener. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /**
   * The next event matching `predicate`; rejects after `timeoutMs` (default 30s)
   * so callers never wait forever on an event that will not come.
   */
  once<K extends keyof Events>(event: K, predicate: (e: Events[K]) => boolean = () => true, timeoutMs = 30_000): Promise<Events[K]> {
    return new Promise((resolve, reject) => {
      const off = this.on(event, (e) => {
        if (!predicate(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs}ms waiting for "${String(event)}"`));
      }, timeoutMs);
    });
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (err) {
        this.#log.error({ err, event: String(event) }, "event listener threw");
      }
    }
  }
}
