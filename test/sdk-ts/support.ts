// Waits and fixtures shared by the SDK integration tests.
import * as net from "node:net";
import type { Worker, WorkerEvents } from "../../sdk/ts/src/index.js";

/** Rejects with a named timeout instead of letting vitest's test timeout fire without context. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves once `count` events of a kind matched, e.g. all of a batch's completions. */
export function collect<K extends keyof WorkerEvents>(
  worker: Worker,
  event: K,
  count: number,
  predicate: (e: WorkerEvents[K]) => boolean = () => true,
): Promise<WorkerEvents[K][]> {
  const seen: WorkerEvents[K][] = [];
  return new Promise((resolve) => {
    const off = worker.on(event, (e) => {
      if (!predicate(e)) return;
      seen.push(e);
      if (seen.length === count) {
        off();
        resolve(seen);
      }
    });
  });
}

/** A TCP relay in front of a server whose connections a test can cut, to force reconnects. */
export async function tcpProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Drops every open connection at once, as a network failure would. */
    cut() {
      for (const s of sockets) s.destroy();
    },
    /** While true, new connections are dropped at once (the server looks down). */
    refuse(on: boolean) {
      refusing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
