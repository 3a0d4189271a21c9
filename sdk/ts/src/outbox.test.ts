import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { TaskSchema } from "../../../gen/ts/baton/v1/task_pb.js";
import type { Result } from "../../../gen/ts/baton/v1/worker_pb.js";
import { completedResult, failureResult } from "./outcome.js";
import { Outbox } from "./outbox.js";

const task = (id: string) => create(TaskSchema, { id });

function connection(outbox: Outbox, accept = true) {
  const sent: Result[] = [];
  outbox.flush((r) => {
    if (accept) sent.push(r);
    return accept;
  });
  return sent;
}

describe("Outbox (R2..R4)", () => {
  it("sends each result once per connection", () => {
    const o = new Outbox();
    o.put(completedResult("t1", "l1", { a: 1 }), task("t1"));
    expect(connection(o).map((r) => r.taskId)).toEqual(["t1"]);
    o.put(completedResult("t2", "l2", {}), task("t2"));
    // Only the new one goes out on the same connection.
    expect(connection(o).map((r) => r.taskId)).toEqual(["t2"]);
    expect(connection(o)).toEqual([]);
  });

  it("resends every unacknowledged result after a reconnect, oldest first (R3)", () => {
    const o = new Outbox();
    o.put(completedResult("t1", "l1", {}), task("t1"));
    o.put(failureResult("t2", "l2", { type: "x", message: "m" }), task("t2"));
    o.put(completedResult("t3", "l3", {}), task("t3"));
    connection(o);
    o.ack("t2", "l2");
    o.connectionLost();
    const resent = connection(o);
    expect(resent.map((r) => r.taskId)).toEqual(["t1", "t3"]);
    // The same Result message, not a new one.
    expect(resent[0]!.outcome.case).toBe("completed");
  });

  it("never resends a result whose Ack refused it (R4)", () => {
    const o = new Outbox();
    o.put(completedResult("t1", "l1", {}), task("t1"));
    connection(o);
    const entry = o.ack("t1", "l1");
    expect(entry?.task.id).toBe("t1");
    o.connectionLost();
    expect(connection(o)).toEqual([]);
    expect(o.size).toBe(0);
  });

  it("keeps results unsent while the connection refuses them", () => {
    const o = new Outbox();
    o.put(completedResult("t1", "l1", {}), task("t1"));
    expect(connection(o, false)).toEqual([]);
    expect(connection(o).map((r) => r.taskId)).toEqual(["t1"]);
  });

  it("ignores an Ack for another lease of the same task", () => {
    const o = new Outbox();
    o.put(completedResult("t1", "l1", {}), task("t1"));
    expect(o.ack("t1", "old-lease")).toBeUndefined();
    expect(o.has("t1", "l1")).toBe(true);
  });

  it("keeps the first result of an attempt", () => {
    const o = new Outbox();
    expect(o.put(completedResult("t1", "l1", { first: true }), task("t1"))).toBe(true);
    expect(o.put(failureResult("t1", "l1", { type: "late", message: "" }), task("t1"))).toBe(false);
    expect(o.entries()[0]!.result.outcome.case).toBe("completed");
  });

  it("drops a result whose lease is lost (B2)", () => {
    const o = new Outbox();
    o.put(completedResult("t1", "l1", {}), task("t1"));
    expect(o.drop("t1", "l1")?.task.id).toBe("t1");
    o.connectionLost();
    expect(connection(o)).toEqual([]);
  });

  it("resolves whenEmpty once the last Ack arrives", async () => {
    const o = new Outbox();
    await o.whenEmpty();
    o.put(completedResult("t1", "l1", {}), task("t1"));
    o.put(completedResult("t2", "l2", {}), task("t2"));
    let empty = false;
    const waiting = o.whenEmpty().then(() => (empty = true));
    o.ack("t1", "l1");
    await Promise.resolve();
    expect(empty).toBe(false);
    o.ack("t2", "l2");
    await waiting;
    expect(empty).toBe(true);
  });
});
