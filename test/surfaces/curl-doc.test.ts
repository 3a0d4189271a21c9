// docs/CURL.md is executed: every ```sh block runs as written (bash, real curl)
// against a live server, with BATON, TASK_ID and LEASE_ID set the way the doc
// says a reader would have them. The test puts each task in the state the
// example needs first, so the doc's blocks stay independent of each other.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBaton, type TestBaton } from "../support/baton.js";
import { run } from "./tools.js";

const DOC = new URL("../../docs/CURL.md", import.meta.url);

interface Answer {
  code?: string;
  contract?: unknown;
  created?: boolean;
  task?: { id: string; state: string };
  tasks?: { id: string; lease?: { leaseId: string } }[];
  leaseExpireTime?: string;
}

/** The ```sh blocks of a markdown file, in order. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe("docs/CURL.md", () => {
  let baton: TestBaton;
  const blocks = shellBlocks(readFileSync(DOC, "utf8"));
  const methodOf = (block: string) => /\$BATON\/baton\.v1\.TaskService\/(\w+)/.exec(block)?.[1] ?? "";

  beforeAll(async () => {
    baton = await startTestBaton("postgres");
  });
  afterAll(async () => baton?.close());

  /** What a reader holds before each example: ids of a task in the state it needs. */
  async function prepare(method: string): Promise<Record<string, string>> {
    const tasks = baton.tasks;
    const claimed = async () => {
      const { task } = await tasks.createTask({ queue: "curl-prep", type: "email.send" });
      const lease = (await tasks.claimTasks({ queue: "curl-prep", workerId: "prep" })).tasks[0]!.lease!;
      return { id: task!.id, leaseId: lease.leaseId };
    };
    switch (method) {
      case "CreateTask":
        return {};
      case "ClaimTasks":
        await tasks.createTask({ queue: "emails", type: "email.send", payload: { to: "bob@example.com" } });
        return {};
      case "GetTask":
      case "ListTasks":
      case "CancelTask":
        return { TASK_ID: (await tasks.createTask({ queue: "emails", type: "email.send" })).task!.id };
      case "Heartbeat":
      case "CompleteTask":
      case "FailTask": {
        const { id, leaseId } = await claimed();
        return { TASK_ID: id, LEASE_ID: leaseId };
      }
      case "RequeueTask": {
        const { id, leaseId } = await claimed();
        await tasks.failTask({ taskId: id, leaseId, error: { type: "fatal", nonRetryable: true } });
        return { TASK_ID: id };
      }
      default:
        throw new Error(`docs/CURL.md has a block for ${method || "no TaskService method"}: teach this test what it needs`);
    }
  }

  it("has an example for every task operation", () => {
    expect(blocks.map(methodOf)).toEqual([
      "CreateTask",
      "GetTask",
      "ListTasks",
      "ClaimTasks",
      "Heartbeat",
      "CompleteTask",
      "FailTask",
      "CancelTask",
      "RequeueTask",
    ]);
  });

  const expectations: Record<string, (a: Answer, ids: Record<string, string>) => void> = {
    CreateTask: (a) => expect(a.task?.state).toBe("TASK_STATE_PENDING"),
    GetTask: (a, ids) => expect(a.task?.id).toBe(ids.TASK_ID),
    ListTasks: (a, ids) => expect(a.tasks?.map((t) => t.id)).toContain(ids.TASK_ID),
    ClaimTasks: (a) => expect(a.tasks?.[0]?.lease?.leaseId).toBeTruthy(),
    Heartbeat: (a) => expect(a.leaseExpireTime).toBeTruthy(),
    CompleteTask: (a) => expect(a.task?.state).toBe("TASK_STATE_COMPLETED"),
    FailTask: (a) => expect(a.task?.state).toBe("TASK_STATE_DEAD_LETTER"),
    CancelTask: (a) => expect(a.task?.state).toBe("TASK_STATE_CANCELLED"),
    RequeueTask: (a) => expect(a.task?.state).toBe("TASK_STATE_PENDING"),
  };

  it.each(blocks.map((block) => [methodOf(block), block] as const))("runs the %s example", async (method, block) => {
    const ids = await prepare(method);
    const out = await run("bash", ["-euo", "pipefail", "-c", block], { env: { ...process.env, BATON: baton.server.url, ...ids } });
    expect(out.code, out.stderr).toBe(0);
    const answer = JSON.parse(out.stdout) as Answer;
    expect(answer.code, out.stdout).toBeUndefined(); // a Connect error has a code
    expect(answer.contract, out.stdout).toBeDefined();
    expectations[method]!(answer, ids);
  });
});
