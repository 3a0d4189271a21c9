/**
 * WatchRun: replays sequenced run events after the cursor from the database,
 * then follows live ones (as WatchTasks does: reads always go to the database
 * in cursor order, the bus only says "look again"). A stream for one run ends
 * after that run's terminal event (D18).
 */
import { create } from "@bufbuild/protobuf";
import { WatchRunResponseSchema, type WatchRunRequest, type WatchRunResponse } from "../../../gen/ts/baton/v1/workflow_service_pb.js";
import { DEFAULT_NAMESPACE, limits } from "../core/defaults.js";
import { invalidArgument } from "../core/errors.js";
import { Violations } from "../core/validation.js";
import { runNotFound, workflowAction } from "../core/workflow-contract.js";
import { checkName } from "../core/workflow-def.js";
import type { Engine } from "../engine/engine.js";
import type { WatchHub } from "../engine/watch-hub.js";
import { runEventsAfter, runEventsNewest, runRead } from "../engine/watch-reads.js";
import { toBatonError } from "./error-interceptor.js";
import { isTerminalRunEvent, runEventFromRow } from "./workflow-message.js";
import { WATCH_START_CURSOR_HEADER } from "./watch-tasks.js";

const PAGE = 500;
const IDLE_RECHECK_MS = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function* watchRun(
  engine: Engine,
  hub: WatchHub,
  req: WatchRunRequest,
  signal: AbortSignal,
  responseHeader?: Headers,
): AsyncGenerator<WatchRunResponse> {
  const v = new Violations();
  v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
  if (req.runId !== "" && !UUID.test(req.runId)) v.add("run_id", `must be a run id (a UUID); got ${JSON.stringify(req.runId.slice(0, 64))}`);
  if (req.workflow !== "") checkName(v, "workflow", req.workflow, "workflow");
  if (req.afterCursor !== undefined && req.afterCursor < 0n) v.add("after_cursor", "must be 0 or a cursor from a previous event");
  if (!v.empty) throw invalidArgument(v.list, workflowAction("watchRun", "open the stream again with the listed fields fixed"));

  try {
    let namespace = req.namespace || DEFAULT_NAMESPACE;
    if (req.runId !== "") {
      const run = await runRead(engine, req.runId);
      if (!run) throw runNotFound(req.runId);
      namespace = run.namespace;
    }
    const filter = { namespace, runId: req.runId || null, workflow: req.workflow };
    let cursor = req.afterCursor ?? (req.runId !== "" ? 0n : await runEventsNewest(engine));
    responseHeader?.set(WATCH_START_CURSOR_HEADER, cursor.toString());
    while (!signal.aborted && !hub.closed) {
      const announced = hub.latest();
      const rows = await runEventsAfter(engine, filter, cursor, PAGE);
      for (const row of rows) {
        cursor = BigInt(row.cursor);
        const event = runEventFromRow(row);
        yield create(WatchRunResponseSchema, { event });
        if (req.runId !== "" && isTerminalRunEvent(event.type)) return; // D18
      }
      if (rows.length < PAGE) await hub.waitBeyond(announced > cursor ? announced : cursor, signal, IDLE_RECHECK_MS);
    }
  } catch (err) {
    throw toBatonError(err, "baton.v1.WorkflowService/WatchRun", engine.log);
  }
}
