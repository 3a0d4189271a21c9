import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventSequence } from "../../server/src/store/events.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";

describe.each(backends)("event cursors on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("are stamped in outbox id (commit) order even when the heap order differs", async () => {
    const sql = baton.server.engine.sql;
    // Heap order the reverse of id order, as after vacuum lets inserts reuse space:
    // a hash join in the stamping UPDATE would then number them backwards.
    await sql`
      INSERT INTO baton_task_events (id, namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT 1000000 + g, 'default', gen_random_uuid(), 'cursor-order', 't', 'created', '{}'::jsonb, now()
      FROM generate_series(200, 1, -1) g`;
    await eventSequence(sql);
    const rows = await sql<{ cursor: string }[]>`
      SELECT cursor::text FROM baton_task_events WHERE id > 1000000 ORDER BY id`;
    expect(rows).toHaveLength(200);
    const cursors = rows.map((r) => BigInt(r.cursor));
    const inversions = cursors.filter((c, i) => i > 0 && c < cursors[i - 1]!).length;
    expect(inversions).toBe(0);
  });
});
