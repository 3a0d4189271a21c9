import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../server/src/store/database.js";
import { eventListAfter, eventMaxCursor } from "../../server/src/store/events.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";

const filter = (queue: string) => ({ namespace: "default", queue, taskType: "", taskId: null });

/** Writes `n` events for `queue` in one statement, in the order given by `ids`. */
const insertEvents = (sql: Queryable, queue: string, from: number, to: number) => sql`
  INSERT INTO baton_task_events (id, namespace, task_id, queue, task_type, type, snapshot, created_at)
  SELECT g, 'default', gen_random_uuid(), ${queue}, 't', 'created', '{}'::jsonb, now()
  FROM generate_series(${from}::bigint, ${to}::bigint, CASE WHEN ${from}::bigint <= ${to}::bigint THEN 1 ELSE -1 END) g
  RETURNING id::text, cursor::text`;

describe.each(backends)("event cursors on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("follow write order within a transaction, across statements, whatever the ids", async () => {
    const sql = baton.server.engine.sql;
    const written = await sql.begin(async (tx) => [
      ...(await insertEvents(tx, "cursor-order", 2_000_200, 2_000_001)),
      ...(await insertEvents(tx, "cursor-order", 2_000_300, 2_000_201)),
    ]);
    const cursors = written.map((r) => BigInt(r.cursor));
    expect(cursors).toHaveLength(300);
    expect(cursors.filter((c, i) => i > 0 && c <= cursors[i - 1]!)).toEqual([]);
    // One transaction: one id in the high bits, the write order in the low ones.
    expect(new Set(cursors.map((c) => c >> 24n)).size).toBe(1);
    expect(cursors.map((c) => Number(c & 0xffffffn))).toEqual(cursors.map((_, i) => i));

    const listed = await eventListAfter(sql, filter("cursor-order"), 0n, 1_000);
    expect(listed.map((r) => r.cursor)).toEqual(written.map((r) => r.cursor));
    expect(await eventMaxCursor(sql)).toBeGreaterThanOrEqual(cursors.at(-1)!);
  });
});

// Two transactions at once need two connections: the embedded backend has one.
describe("event cursors with concurrent writers on postgres", () => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton("postgres");
  });
  afterAll(async () => baton?.close());

  it("hold back a later commit until the earlier writer ends, so a resumed reader never skips an event", async () => {
    const sql = baton.server.engine.sql;
    const before = await eventMaxCursor(sql);
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    let wroteA!: (cursor: bigint) => void;
    const aWrote = new Promise<bigint>((r) => (wroteA = r));
    // A writes first (the smaller transaction id) but commits last.
    const a = sql.begin(async (tx) => {
      const [row] = await insertEvents(tx, "held-back", 3_000_001, 3_000_001);
      wroteA(BigInt(row!.cursor));
      await gateA;
    });
    const cursorA = await aWrote;
    const [rowB] = await insertEvents(sql, "held-back", 3_000_002, 3_000_002);
    const cursorB = BigInt(rowB!.cursor);
    expect(cursorB).toBeGreaterThan(cursorA);

    // B has committed, but A could still commit below it: B is not readable yet.
    expect(await eventListAfter(sql, filter("held-back"), before, 100)).toEqual([]);
    expect(await eventMaxCursor(sql)).toBeLessThan(cursorA);

    releaseA();
    await a;
    const listed = await eventListAfter(sql, filter("held-back"), before, 100);
    expect(listed.map((r) => BigInt(r.cursor))).toEqual([cursorA, cursorB]);
    expect(await eventMaxCursor(sql)).toBeGreaterThanOrEqual(cursorB);
  });

  it("skip the cursors of a transaction that rolled back", async () => {
    const sql = baton.server.engine.sql;
    const before = await eventMaxCursor(sql);
    await expect(
      sql.begin(async (tx) => {
        await insertEvents(tx, "rolled-back", 3_000_101, 3_000_101);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    const [row] = await insertEvents(sql, "rolled-back", 3_000_102, 3_000_102);
    const listed = await eventListAfter(sql, filter("rolled-back"), before, 100);
    expect(listed.map((r) => r.cursor)).toEqual([row!.cursor]);
  });
});
