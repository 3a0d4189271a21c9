import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { WorkerHealth, WorkerInfoSchema, type WorkerInfo } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { WorkerRow } from "../core/worker-row.js";

/** A session is STALE once it has been silent for three heartbeat intervals (B3). */
export function workerFromRow(row: WorkerRow, heartbeatIntervalMs: number): WorkerInfo {
  const health = row.draining
    ? WorkerHealth.DRAINING
    : row.silent_for_s * 1000 > 3 * heartbeatIntervalMs
      ? WorkerHealth.STALE
      : WorkerHealth.HEALTHY;
  return create(WorkerInfoSchema, {
    sessionId: row.session_id,
    workerId: row.worker_id,
    instanceId: row.instance_id,
    namespace: row.namespace,
    queues: row.queues,
    taskTypes: row.task_types,
    labels: row.labels,
    slots: row.slots,
    slotsUsed: row.slots_used,
    connectTime: timestampFromDate(row.connected_at),
    lastHeartbeatTime: timestampFromDate(row.last_heartbeat_at),
    replicaId: row.replica_id,
    health,
    transport: row.transport,
    sdk: row.sdk,
  });
}
