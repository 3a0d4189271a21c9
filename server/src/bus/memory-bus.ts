import type { Bus } from "./bus.js";

/** The embedded default: one process, so subscribers are just callbacks. */
export function createMemoryBus(): Bus {
  const subscribers = new Map<string, Set<(data: Uint8Array) => void>>();
  const empty = new Uint8Array(0);
  return {
    publish(subject, data = empty) {
      const set = subscribers.get(subject);
      if (!set) return;
      // Deliver asynchronously, like a network bus, so publishers never re-enter subscribers.
      for (const fn of [...set]) queueMicrotask(() => fn(data));
    },
    subscribe(subject, onMessage) {
      let set = subscribers.get(subject);
      if (!set) subscribers.set(subject, (set = new Set()));
      set.add(onMessage);
      return () => {
        set.delete(onMessage);
        if (set.size === 0) subscribers.delete(subject);
      };
    },
    async close() {
      subscribers.clear();
    },
  };
}
