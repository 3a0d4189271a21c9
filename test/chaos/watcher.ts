// A WatchTasks client that keeps disconnecting and resuming: it closes its stream
// at random moments (and loses it whenever a replica dies or the proxy drops it),
// then opens a new one after the last cursor it saw. It records exactly what the
// server sent, without the SDK's de-duplication, so the checker can compare it
// with the events table: no gap, no duplicate, cursors strictly increasing.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TaskEventType } from "../../gen/ts/baton/v1/task_pb.js";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import type { Rng } from "./rng.js";

export interface WatchedEvent {
  cursor: bigint;
  type: string;
  taskId: string;
}

export class ResumingWatcher {
  readonly events: WatchedEvent[] = [];
  /** Cursors that did not increase on their stream or across a resume. */
  readonly outOfOrder: { cursor: bigint; after: bigint }[] = [];
  streams = 0;
  /** Streams that ended in an error (a dropped connection, a dead replica) rather than our own close. */
  broken = 0;
  last = 0n;
  #stopped = false;
  #current: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly queue: string,
    private readonly rng: Rng,
    private readonly maxStreamMs: number,
  ) {}

  start(): void {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    // HTTP/1.1 Connect: every stream is its own connection, so a dropped one fails fast.
    const client = createClient(TaskService, createConnectTransport({ baseUrl: this.url, httpVersion: "1.1" }));
    while (!this.#stopped) {
      const abort = new AbortController();
      this.#current = abort;
      const timer = setTimeout(() => abort.abort(), this.rng.int(Math.min(500, this.maxStreamMs), this.maxStreamMs));
      this.streams++;
      try {
        for await (const res of client.watchTasks({ queue: this.queue, afterCursor: this.last }, { signal: abort.signal })) {
          const e = res.event;
          if (!e) continue;
          if (e.cursor <= this.last) this.outOfOrder.push({ cursor: e.cursor, after: this.last });
          else this.last = e.cursor;
          this.events.push({ cursor: e.cursor, type: TaskEventType[e.type].toLowerCase(), taskId: e.task?.id ?? "" });
        }
      } catch {
        if (!abort.signal.aborted) this.broken++;
      } finally {
        clearTimeout(timer);
      }
      if (!this.#stopped) await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#current?.abort();
    await this.#loop;
  }
}
