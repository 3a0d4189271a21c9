/**
 * WorkerService: the worker session streams (Connect, Listen) and the worker
 * registry (ListWorkers, GetWorker). Session rules live in engine/.
 */
import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { create } from "@bufbuild/protobuf";
import { type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  ConnectResponseSchema,
  GetWorkerResponseSchema,
  ListenResponseSchema,
  ListWorkersResponseSchema,
  WorkerService,
  type ConnectRequest,
  type ConnectResponse,
  type ListenResponse,
} from "../../../gen/ts/baton/v1/worker_service_pb.js";
import { listContract, taskAction } from "../core/contract.js";
import { DEFAULT_NAMESPACE, limits } from "../core/defaults.js";
import { batonError, invalidArgument } from "../core/errors.js";
import { sessionSpecFromHello } from "../core/hello.js";
import { Violations } from "../core/validation.js";
import type { Dispatcher } from "../engine/dispatcher.js";
import type { Engine } from "../engine/engine.js";
import { SessionHandler } from "../engine/session-handler.js";
import { closeSession, openSession, type SessionSettings } from "../engine/session-lifecycle.js";
import { workerSession, workersOf } from "../engine/worker-registry.js";
import { Channel } from "../lib/channel.js";
import { callEngine } from "./call-engine.js";
import { toBatonError } from "./error-interceptor.js";
import { workerFromRow } from "./worker-message.js";
import { HelloSchema } from "../../../gen/ts/baton/v1/worker_pb.js";
import { storableMessage } from "../core/storable.js";
import { serverMessage } from "./worker-stream.js";

/** Results of one session handled at once; more wait, which slows the worker's stream down. */
const MAX_RESULTS_IN_FLIGHT = 32;

const connectRetry = () => taskAction("claimTasks", "fix the Hello and connect again, or poll with ClaimTasks");

export function createWorkerService(engine: Engine, dispatcher: Dispatcher, settings: SessionSettings): ServiceImpl<typeof WorkerService> {
  return {
    async *connect(requests: AsyncIterable<ConnectRequest>, ctx: HandlerContext): AsyncGenerator<ConnectResponse> {
      const incoming = requests[Symbol.asyncIterator]();
      // A first frame that fails to decode is the client's mistake: answer (and
      // log) it as INVALID_ARGUMENT, as the protocol layer does, not as INTERNAL.
      const first = await incoming.next().catch((err: unknown) => {
        throw toBatonError(err, "baton.v1.WorkerService/Connect", callEngine(engine, ctx).log);
      });
      const v = new Violations();
      const hello = first.done || first.value.message.case !== "hello" ? undefined : first.value.message.value;
      // S5 before anything about the session is stored.
      if (hello) v.list.push(...storableMessage(HelloSchema, hello, "hello"));
      const spec = sessionSpecFromHello(hello, v);
      if (!v.empty) throw invalidArgument(v.list, connectRetry());

      const out = new Channel<ConnectResponse>();
      const session = await openSession(
        engine,
        dispatcher,
        settings,
        spec,
        "CONNECT",
        (m) => out.push(create(ConnectResponseSchema, { message: serverMessage(m) })),
        () => out.close(),
      );
      // Lines about this session carry its call's request id.
      const call = callEngine(engine, ctx);
      const handler = new SessionHandler(call, dispatcher, session);
      let failure: unknown;
      const onAbort = () => out.close();
      ctx.signal.addEventListener("abort", onAbort);
      // Messages are handled one at a time, in order: a Result's Ack always follows
      // the Assign it answers, and a Drain takes effect before the next message.
      const inFlight = new Set<Promise<void>>();
      const reading = (async () => {
        for (let next = await incoming.next(); !next.done; next = await incoming.next()) {
          const msg = next.value.message;
          switch (msg.case) {
            case "heartbeat":
              await handler.heartbeat(msg.value);
              break;
            case "result": {
              // Results of different tasks are independent: handle them concurrently
              // (bounded) so one session's completions are not serialised on round trips.
              const pending = handler.result(msg.value).catch((err: unknown) => {
                failure ??= err;
                // No more assignments to a stream that is ending.
                session.closed = true;
                out.close();
              });
              inFlight.add(pending);
              void pending.finally(() => inFlight.delete(pending));
              if (inFlight.size >= MAX_RESULTS_IN_FLIGHT) await Promise.race(inFlight);
              break;
            }
            case "extendLease":
              await handler.extendLease(msg.value);
              break;
            case "credit":
              handler.credit(msg.value.slots);
              break;
            case "drain":
              await handler.drain();
              break;
            case "hello":
              throw invalidArgument([{ field: "hello", description: "was already sent: Hello is only the first message (H1)" }], connectRetry());
            default:
              throw invalidArgument([{ field: "message", description: "is empty or of an unknown kind" }], connectRetry());
          }
        }
        await Promise.all(inFlight);
      })()
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => out.close());
      try {
        for await (const message of out) yield message;
        // A failure ends the stream at once with its status: waiting for the
        // reader would wait for the worker's next message, which may never come.
        if (failure === undefined) await reading;
        if (failure !== undefined && !ctx.signal.aborted) throw toBatonError(failure, "baton.v1.WorkerService/Connect", call.log);
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        session.closed = true;
        await closeSession(engine, dispatcher, session);
      }
    },

    async *listen(req, ctx): AsyncGenerator<ListenResponse> {
      const v = new Violations();
      const spec = sessionSpecFromHello(req.hello, v);
      if (!v.empty) throw invalidArgument(v.list, connectRetry());
      const out = new Channel<ListenResponse>();
      const session = await openSession(
        engine,
        dispatcher,
        settings,
        spec,
        "LISTEN",
        (m) => {
          // Acks answer stream results, which Listen has none of (F1).
          const message = serverMessage(m);
          if (message.case === "ack" || message.case === undefined) return false;
          return out.push(create(ListenResponseSchema, { message }));
        },
        () => out.close(),
      );
      const onAbort = () => out.close();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        for await (const message of out) yield message;
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        session.closed = true;
        await closeSession(engine, dispatcher, session);
      }
    },

    async listWorkers(req) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      if (req.queue !== "") v.name("queue", req.queue, limits.nameMaxChars);
      if (!v.empty) throw invalidArgument(v.list, taskAction("listTasks", "fix the listed fields"));
      const rows = await workersOf(engine, req.namespace || DEFAULT_NAMESPACE, req.queue);
      return create(ListWorkersResponseSchema, {
        workers: rows.map((r) => workerFromRow(r, settings.heartbeatIntervalMs)),
        contract: listContract([], `${rows.length} worker sessions`),
      });
    },

    async getWorker(req) {
      const v = new Violations();
      if (!/^[0-9a-f-]{36}$/i.test(req.sessionId)) v.add("session_id", "must be a session id from Welcome or ListWorkers");
      if (!v.empty) throw invalidArgument(v.list, taskAction("listTasks", "fix the listed fields"));
      const row = await workerSession(engine, req.sessionId);
      if (!row) {
        throw batonError({
          reason: ErrorReason.WORKER_NOT_FOUND,
          message: `no live worker session ${req.sessionId}`,
          guidance: "the session ended or never existed; ListWorkers shows the live ones",
        });
      }
      const worker = workerFromRow(row, settings.heartbeatIntervalMs);
      return create(GetWorkerResponseSchema, { worker, contract: listContract([], "a live worker session") });
    },
  };
}
