/**
 * Request ids and task ids in the logs of RPCs.
 *
 * Every RPC gets a request id: the caller's `x-request-id` when it sent a sane
 * one, else a fresh UUID; it is echoed in the response's `x-request-id` header
 * (and in an error's metadata). Handlers log through the call's logger
 * (`callLog`), whose lines carry the request id and the procedure; the line
 * that closes the call adds the task ids it touched, its code and duration.
 *
 * The call's logger travels in Connect's context values (observe/call-log.ts
 * says why not an AsyncLocalStorage).
 */
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "pino";
import { setCallLog } from "../observe/call-log.js";
import type { BatonMetrics } from "./metrics.js";
import { requestIdOf } from "./router.js";

interface RequestContext {
  requestId: string;
  procedure: string;
}

/** At most this many task ids are logged for one call (a claim may return 100). */
const MAX_LOGGED_IDS = 20;

export function createRequestLogInterceptor(log: Logger, metrics: BatonMetrics): Interceptor {
  return (next) => async (req) => {
    const ctx: RequestContext = { requestId: requestIdOf(req.header.get("x-request-id")), procedure: `${req.service.typeName}/${req.method.name}` };
    setCallLog(req.contextValues, log.child(ctx));
    const startedMs = performance.now();
    const taskIds = req.stream ? [] : taskIdsOf(req.message);
    const finish = (code: string, more: Record<string, unknown> = {}) => {
      metrics.rpcFinished(ctx.procedure, code);
      const ids = [...new Set(taskIds)].slice(0, MAX_LOGGED_IDS);
      const fields = { ...ctx, code, durationMs: Math.round(performance.now() - startedMs), ...taskIdFields(ids), ...more };
      if (code === "internal" || code === "unknown") log.error(fields, "rpc failed");
      else log.info(fields, code === "ok" ? "rpc" : "rpc failed");
    };
    try {
      const res = await next(req);
      res.header.set("x-request-id", ctx.requestId);
      if (!res.stream) {
        taskIds.push(...taskIdsOf(res.message));
        finish("ok");
        return res;
      }
      const closeStream = metrics.streamOpened(ctx.procedure);
      const source = res.message;
      async function* tracked() {
        const it = source[Symbol.asyncIterator]();
        let code = "";
        try {
          for (;;) {
            const step = await it.next();
            if (step.done) {
              code = "ok";
              return;
            }
            yield step.value;
          }
        } catch (err) {
          code = req.signal.aborted ? "canceled" : codeToString(ConnectError.from(err).code);
          throw err;
        } finally {
          // Stopped before its end without an error: the client went away (or the server is closing).
          code ||= "canceled";
          closeStream();
          finish(code, { stream: true });
          await it.return?.();
        }
      }
      return { ...res, message: tracked() };
    } catch (err) {
      const ce = ConnectError.from(err);
      ce.metadata.set("x-request-id", ctx.requestId);
      finish(req.signal.aborted ? "canceled" : codeToString(ce.code), { message: ce.rawMessage });
      throw ce;
    }
  };
}

function taskIdFields(ids: string[]): Record<string, unknown> {
  if (ids.length === 0) return {};
  return ids.length === 1 ? { taskId: ids[0] } : { taskIds: ids };
}

/** Task ids a Baton request or response names: `task_id`, a task request's `id`, `task.id`, `tasks[].id`. */
function taskIdsOf(message: unknown): string[] {
  const m = message as { $typeName?: string; taskId?: unknown; id?: unknown; task?: { id?: unknown }; tasks?: { id?: unknown }[] };
  const ids: unknown[] = [];
  if (typeof m.taskId === "string") ids.push(m.taskId);
  if (typeof m.id === "string" && /Task(Request)?$/.test(m.$typeName ?? "")) ids.push(m.id);
  if (m.task && typeof m.task === "object") ids.push(m.task.id);
  if (Array.isArray(m.tasks)) for (const t of m.tasks) ids.push(t?.id);
  return ids.filter((id): id is string => typeof id === "string" && id !== "");
}
