import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TaskEvent } from "../../../gen/ts/baton/v1/task_pb.js";
import type { WatchTasksRequestSchema, WatchTasksResponse } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { BatonError } from "./errors.js";
import { silentLogger, type Logger } from "./logger.js";
import { sleep } from "./timers.js";

export type WatchTasksInput = MessageInitShape<typeof WatchTasksRequestSchema>;

export interface WatchOptions {
  /** Ends the iteration (without an error). */
  signal?: AbortSignal;
  /** Delays between reconnects. */
  backoff?: BackoffOptions;
  log?: Logger;
}

type OpenStream = (req: WatchTasksInput, signal: AbortSignal) => AsyncIterable<WatchTasksResponse>;

/**
 * A long watch outlives connections, replicas and deploys; these codes are
 * what a broken path looks like, so they resume instead of ending the watch.
 */
const RESUMABLE = new Set<Code>([
  Code.Unavailable,
  Code.Unknown,
  Code.Internal,
  Code.Aborted,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Canceled,
]);

/**
 * WatchTasks that survives stream errors. Each reconnect asks for the events
 * after the last cursor delivered, and the server replays them in cursor order,
 * so the caller sees no gap and no duplicate (events at or below the last
 * cursor are skipped in case a server replays one).
 *
 * One gap cannot be closed here: with `afterCursor` unset and the stream lost
 * before its first event, there is no cursor to resume from, so the reconnect
 * again means "from now". Pass `afterCursor` to be gapless from the start.
 */
export async function* resumableWatch(open: OpenStream, req: WatchTasksInput, opts: WatchOptions = {}): AsyncGenerator<TaskEvent> {
  const log = opts.log ?? silentLogger;
  const backoff = new Backoff(opts.backoff);
  let afterCursor = req.afterCursor;
  while (!opts.signal?.aborted) {
    // Connect's stream iterator has no return(): breaking out of for-await would
    // leave the HTTP stream open, so each attempt gets its own abort switch.
    const attempt = new AbortController();
    const onAbort = () => attempt.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let delayMs: number;
    try {
      for await (const res of open({ ...req, afterCursor }, attempt.signal)) {
        const event = res.event;
        if (!event) continue;
        if (afterCursor !== undefined && event.cursor <= afterCursor) continue;
        afterCursor = event.cursor;
        backoff.reset();
        yield event;
      }
      // A clean end means the server went away on purpose (shutdown, deploy).
      delayMs = backoff.nextDelayMs();
      log.debug({ afterCursor }, "watch stream ended; resuming");
    } catch (err) {
      if (opts.signal?.aborted) return;
      const e = BatonError.from(err);
      if (!e.retryable && !RESUMABLE.has(e.code)) throw e;
      delayMs = Math.max(backoff.nextDelayMs(), e.retryAfterMs ?? 0);
      log.warn({ err: e, afterCursor, delayMs }, "watch stream failed; resuming");
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      attempt.abort();
    }
    await sleep(delayMs, opts.signal);
  }
}
