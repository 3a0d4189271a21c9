import { create } from "@bufbuild/protobuf";
import {
  WatchTasksResponseSchema,
  type WatchTasksRequest,
  type WatchTasksResponse,
} from "../../../gen/ts/baton/v1/task_service_pb.js";
import { taskAction } from "../core/contract.js";
import { DEFAULT_NAMESPACE, limits } from "../core/defaults.js";
import { invalidArgument } from "../core/errors.js";
import { Violations } from "../core/validation.js";
import type { Engine } from "../engine/engine.js";
import type { WatchHub } from "../engine/watch-hub.js";
import { taskEventsAfter, taskEventsNewest } from "../engine/watch-reads.js";
import { toBatonError } from "./error-interceptor.js";
import { taskEventFromRow } from "./task-message.js";

const PAGE = 500;
/** Re-read even without a notification, in case one was lost on the bus. */
const IDLE_RECHECK_MS = 1_000;

/**
 * WatchTasks: replays sequenced events after the cursor from Postgres, then
 * follows live ones. Reads always go to Postgres in cursor order, so a stream
 * has no gaps or duplicates whatever the bus delivers.
 */
/** The response header that tells a client where a stream without after_cursor started. */
export const WATCH_START_CURSOR_HEADER = "baton-watch-start-cursor";

export async function* watchTasks(
  engine: Engine,
  hub: WatchHub,
  req: WatchTasksRequest,
  signal: AbortSignal,
  responseHeader?: Headers,
): AsyncGenerator<WatchTasksResponse> {
  const v = new Violations();
  v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
  if (req.queue !== "") v.name("queue", req.queue, limits.nameMaxChars);
  if (req.type !== "") v.name("type", req.type, limits.nameMaxChars);
  if (req.taskId !== "") v.taskId("task_id", req.taskId);
  if (req.afterCursor !== undefined && req.afterCursor < 0n) v.add("after_cursor", "must be 0 or a cursor from a previous event");
  if (!v.empty) throw invalidArgument(v.list, taskAction("watchTasks", "open the stream again with the listed fields fixed"));

  const filter = { namespace: req.namespace || DEFAULT_NAMESPACE, queue: req.queue, taskType: req.type, taskId: req.taskId || null };
  try {
    let cursor = req.afterCursor ?? (await taskEventsNewest(engine));
    // A client whose stream breaks before the first event resumes from here, not from "now".
    responseHeader?.set(WATCH_START_CURSOR_HEADER, cursor.toString());
    while (!signal.aborted && !hub.closed) {
      // Everything announced before this read is in it, matching the filter or not:
      // wait for an announcement beyond that, not beyond the last matching event.
      const announced = hub.latest();
      const rows = await taskEventsAfter(engine, filter, cursor, PAGE);
      for (const row of rows) {
        cursor = BigInt(row.cursor);
        yield create(WatchTasksResponseSchema, { event: taskEventFromRow(row) });
      }
      if (rows.length < PAGE) await hub.waitBeyond(announced > cursor ? announced : cursor, signal, IDLE_RECHECK_MS);
    }
  } catch (err) {
    throw toBatonError(err, "baton.v1.TaskService/WatchTasks", engine.log);
  }
}
