import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import { LeaseRefSchema, WelcomeSchema } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { SessionSpec } from "../core/hello.js";
import { taskLeasesCurrent } from "../store/task-leases.js";
import { workerDelete, workerInsert } from "../store/workers.js";
import type { Dispatcher } from "./dispatcher.js";
import type { Engine } from "./engine.js";
import { WorkerSession, type SessionMessage, type SessionTransport } from "./worker-session.js";

export interface SessionSettings {
  replicaId: string;
  serverVersion: string;
  heartbeatIntervalMs: number;
  cancelGraceMs: number;
}

export const SERVER_FEATURES = ["extend_lease", "resume", "credit", "drain", "listen"];

/**
 * Opens a session: resumes the leases the worker still runs (N2), registers it
 * for ListWorkers, sends Welcome, and only then lets the dispatcher assign work
 * (H1: Welcome comes first).
 */
export async function openSession(
  engine: Engine,
  dispatcher: Dispatcher,
  settings: SessionSettings,
  spec: SessionSpec,
  transport: SessionTransport,
  send: (m: SessionMessage) => boolean,
  end: () => void,
): Promise<WorkerSession> {
  const session = new WorkerSession(randomUUID(), spec, transport, Date.now(), send, end);
  const current = await taskLeasesCurrent(engine.sql, spec.resumeLeases);
  const kept = new Set(current.map((l) => `${l.task_id}/${l.lease_id}`));
  const resumed = spec.resumeLeases.filter((l) => kept.has(`${l.taskId}/${l.leaseId}`));
  const lost = spec.resumeLeases.filter((l) => !kept.has(`${l.taskId}/${l.leaseId}`));
  for (const l of resumed) session.held.set(l.taskId, l.leaseId);
  await workerInsert(engine.sql, {
    session_id: session.id,
    worker_id: spec.workerId,
    instance_id: spec.instanceId,
    namespace: spec.namespace,
    queues: spec.queues,
    task_types: spec.taskTypes,
    labels: spec.labels,
    slots: spec.slots,
    transport,
    sdk: spec.sdk,
    replica_id: settings.replicaId,
  });
  session.send({
    case: "welcome",
    value: create(WelcomeSchema, {
      sessionId: session.id,
      heartbeatInterval: durationFromMs(settings.heartbeatIntervalMs),
      cancelGrace: durationFromMs(settings.cancelGraceMs),
      serverVersion: settings.serverVersion,
      features: SERVER_FEATURES,
      resumed: resumed.map((l) => create(LeaseRefSchema, l)),
      lost: lost.map((l) => create(LeaseRefSchema, l)),
      replicaId: settings.replicaId,
    }),
  });
  dispatcher.add(session);
  return session;
}

/** Ends a session: nothing is released (N3); its leases live on until resumed or expired. */
export async function closeSession(engine: Engine, dispatcher: Dispatcher, session: WorkerSession): Promise<void> {
  dispatcher.remove(session);
  try {
    await workerDelete(engine.sql, session.id);
  } catch (err) {
    // The row turns STALE and the sweeper removes it.
    engine.log.warn({ err, session: session.id }, "could not delete worker row");
  }
}
