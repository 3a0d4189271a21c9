import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CheckSchema } from "../../gen/ts/baton/conformance/v1/conformance_pb.js";
import { evaluate, reconnectDelays, type CheckContext } from "./checks.js";
import { SERVER_DEFAULTS } from "./reference-server/server.js";
import type { Entry, EntryKind } from "./trace.js";

/** A trace from [t, kind, session, extra] rows. */
function trace(rows: [number, EntryKind, number, Partial<Entry>?][]): Entry[] {
  return rows.map(([t, kind, session, extra], seq) => ({ seq, t, kind, session, ...extra }));
}

function ctx(entries: Entry[], scriptEnd = 10_000): CheckContext {
  return { entries, book: new Map([["t1", ["L1", "L2"]]]), server: SERVER_DEFAULTS, scriptEnd };
}

const check = (json: object) => fromJson(CheckSchema, { rule: "N1", says: "s", ...json } as JsonValue);

/** Streams refused one after another with these delays between them. */
function refusals(delays: number[]): Entry[] {
  const rows: [number, EntryKind, number][] = [];
  let t = 0;
  rows.push([t, "stream_open", 1], [t + 1, "stream_end", 1]);
  delays.forEach((d, i) => {
    t += 1 + d;
    rows.push([t, "stream_open", i + 2], [t + 1, "stream_end", i + 2]);
  });
  return trace(rows);
}

describe("backoff check (N1)", () => {
  const backoff = check({ backoff: { minDelays: 5, growth: 1.5, jitter: true } });

  it("passes growing, jittered delays", () => {
    expect(evaluate(backoff, ctx(refusals([140, 330, 210, 1200, 610])))).toEqual([]);
    expect(reconnectDelays(refusals([140, 330]))).toEqual([140, 330]);
  });

  it("fails delays under 100ms", () => {
    expect(evaluate(backoff, ctx(refusals([5, 8, 3, 9, 4])))[0]).toMatch(/at least 100ms/);
  });

  it("fails delays that do not grow", () => {
    expect(evaluate(backoff, ctx(refusals([200, 180, 210, 190, 205]))).join()).toMatch(/do not grow/);
  });

  it("fails a fixed schedule, constant or exponential", () => {
    expect(evaluate(backoff, ctx(refusals([100, 200, 400, 800, 1600]))).join()).toMatch(/no jitter/);
    expect(evaluate(check({ backoff: { jitter: true } }), ctx(refusals([300, 300, 300]))).join()).toMatch(/no jitter/);
  });

  it("ignores reconnects after a GoAway", () => {
    const t = trace([
      [0, "stream_open", 1],
      [5, "go_away", 1],
      [6, "stream_end", 1],
      [7, "stream_open", 2],
    ]);
    expect(reconnectDelays(t)).toEqual([]);
  });
});

describe("heartbeat check (B1)", () => {
  const hb = check({ rule: "B1", heartbeats: {} });

  it("passes heartbeats within the interval plus slack", () => {
    const t = trace([
      [0, "welcome", 1],
      [350, "heartbeat", 1],
      [700, "heartbeat", 1],
      [1050, "heartbeat", 1],
    ]);
    expect(evaluate(hb, ctx(t, 1200))).toEqual([]);
  });

  it("fails a gap, including the silence before the script's end", () => {
    const t = trace([
      [0, "welcome", 1],
      [350, "heartbeat", 1],
    ]);
    expect(evaluate(hb, ctx(t, 1500))[0]).toMatch(/stream 1: no heartbeat after the last one for 1150ms/);
  });

  it("only counts time while a stream is welcomed", () => {
    const t = trace([
      [0, "welcome", 1],
      [300, "heartbeat", 1],
      [500, "stream_end", 1],
      [2000, "welcome", 2],
      [2300, "heartbeat", 2],
    ]);
    expect(evaluate(hb, ctx(t, 2500))).toEqual([]);
  });
});

describe("count, order and within", () => {
  const t = trace([
    [0, "assign", 1, { taskId: "t1", leaseId: "L1" }],
    [100, "cancel", 1, { taskId: "t1", leaseId: "L1" }],
    [900, "result", 1, { taskId: "t1", leaseId: "L1", completed: false }],
  ]);

  it("count filters by task and lease, and windows by anchors", () => {
    expect(evaluate(check({ rule: "B2", count: { match: { result: { task: "t1", lease: 2 } }, max: 0 } }), ctx(t))).toEqual([]);
    expect(evaluate(check({ rule: "B2", count: { match: { result: { task: "t1" } }, window: { after: { cancel: {} } }, max: 0 } }), ctx(t))[0]).toMatch(
      /at most 0/,
    );
    expect(evaluate(check({ rule: "B2", count: { match: { result: { completed: true } }, min: 1 } }), ctx(t))[0]).toMatch(/at least 1/);
  });

  it("within measures from the anchor", () => {
    expect(evaluate(check({ rule: "X2", within: { after: { cancel: { task: "t1" } }, expect: { result: { task: "t1" } }, maxMs: 1000 } }), ctx(t))).toEqual([]);
    expect(evaluate(check({ rule: "X2", within: { after: { cancel: { task: "t1" } }, expect: { result: { task: "t1" } }, maxMs: 500 } }), ctx(t))[0]).toMatch(
      /800ms after/,
    );
  });

  it("order needs both, in that order", () => {
    expect(evaluate(check({ rule: "G2", order: { first: { result: {} }, later: { cancel: {} } } }), ctx(t))[0]).toMatch(/before/);
  });

  it("an empty check is an error, not a pass", () => {
    expect(evaluate(create(CheckSchema, { rule: "B1", says: "s" }), ctx(t))).toEqual(["the check is empty"]);
  });
});
