import type { Hello } from "../../../gen/ts/baton/v1/worker_pb.js";
import { DEFAULT_NAMESPACE, limits } from "./defaults.js";
import { Violations } from "./validation.js";

/** A validated Hello with defaults applied. */
export interface SessionSpec {
  namespace: string;
  queues: string[];
  taskTypes: string[];
  workerId: string;
  instanceId: string;
  labels: Record<string, string>;
  slots: number;
  resumeLeases: { taskId: string; leaseId: string }[];
  sdk: string;
}

export const sessionLimits = {
  queuesMax: 16,
  taskTypesMax: 256,
  slotsMax: 1000,
  resumeLeasesMax: 1000,
  sdkMaxChars: 128,
} as const;

/** Validates a Hello (H1); `prefix` is `hello.` on both Connect and Listen. */
export function sessionSpecFromHello(hello: Hello | undefined, v: Violations, prefix = "hello."): SessionSpec {
  const f = (name: string) => prefix + name;
  if (!hello) {
    v.add("hello", "is required: the first message of a session is Hello (H1)");
    return { namespace: DEFAULT_NAMESPACE, queues: [], taskTypes: [], workerId: "", instanceId: "", labels: {}, slots: 0, resumeLeases: [], sdk: "" };
  }
  v.namespace(f("namespace"), hello.namespace, limits.namespaceMaxChars);
  if (hello.queues.length === 0 || hello.queues.length > sessionLimits.queuesMax) {
    v.add(f("queues"), `must list 1..${sessionLimits.queuesMax} queues; got ${hello.queues.length}`);
  }
  hello.queues.slice(0, sessionLimits.queuesMax).forEach((q, i) => v.name(f(`queues[${i}]`), q, limits.nameMaxChars));
  if (hello.taskTypes.length > sessionLimits.taskTypesMax) v.add(f("task_types"), `must list at most ${sessionLimits.taskTypesMax} types`);
  hello.taskTypes.slice(0, sessionLimits.taskTypesMax).forEach((t, i) => v.name(f(`task_types[${i}]`), t, limits.nameMaxChars));
  v.name(f("worker_id"), hello.workerId, limits.nameMaxChars);
  v.name(f("instance_id"), hello.instanceId, limits.nameMaxChars);
  v.labels(f("labels"), hello.labels, limits.labelsMax, limits.labelKeyMaxChars, limits.labelValueMaxChars);
  v.intRange(f("slots"), hello.slots, 1, sessionLimits.slotsMax);
  if (hello.resumeLeases.length > sessionLimits.resumeLeasesMax) {
    v.add(f("resume_leases"), `must list at most ${sessionLimits.resumeLeasesMax} leases`);
  }
  hello.resumeLeases.slice(0, sessionLimits.resumeLeasesMax).forEach((l, i) => {
    v.taskId(f(`resume_leases[${i}].task_id`), l.taskId);
    v.leaseId(f(`resume_leases[${i}].lease_id`), l.leaseId);
  });
  v.maxChars(f("sdk"), hello.sdk, sessionLimits.sdkMaxChars);
  return {
    namespace: hello.namespace || DEFAULT_NAMESPACE,
    queues: [...new Set(hello.queues)],
    taskTypes: [...new Set(hello.taskTypes)].sort(),
    workerId: hello.workerId,
    instanceId: hello.instanceId,
    labels: { ...hello.labels },
    slots: hello.slots,
    resumeLeases: hello.resumeLeases.map((l) => ({ taskId: l.taskId, leaseId: l.leaseId })),
    sdk: hello.sdk,
  };
}
