import type postgres from "postgres";
import { taskCompleteMany } from "../store/task-leases.js";
import type { TaskRow } from "../core/task-row.js";

/** Most results one statement completes. */
const MAX_BATCH = 100;
/** Statements in flight at once per pool; results arriving meanwhile wait and go together. */
const MAX_IN_FLIGHT = 2;

type Completed = TaskRow & { attempt_started_at: Date };

interface Pending {
  id: string;
  leaseId: string;
  result: object;
  resolve(row: Completed | undefined): void;
  reject(err: unknown): void;
}

/**
 * Group commit for completions: the first result goes out at once; results that
 * arrive while statements are in flight are completed together, in one statement
 * (TaskCompleteMany), by the next one. Under load that turns a statement, a round
 * trip and a commit per task into one per batch; alone, a result waits for nothing.
 * Each result is still fenced on its own lease (L1); a batch fails or commits whole,
 * and a failed batch fails each of its callers as a failed statement would.
 */
export class CompletionBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(private readonly sql: postgres.Sql) {}

  /**
   * TaskComplete for a task that is not a workflow step: the completed row, or
   * undefined when the lease matched nothing (or the task is a step: see completeStepTask).
   */
  complete(id: string, leaseId: string, result: object): Promise<Completed | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: id.toLowerCase(), leaseId, result, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      // One entry per task in a statement: a resend of the same task waits for the next.
      const batch: Pending[] = [];
      const ids = new Set<string>();
      const rest: Pending[] = [];
      for (const p of this.queue) {
        if (batch.length < MAX_BATCH && !ids.has(p.id)) {
          batch.push(p);
          ids.add(p.id);
        } else rest.push(p);
      }
      this.queue = rest;
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    // Sorted, so concurrent statements (here or on other replicas) lock rows in the same order.
    batch.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    try {
      const rows = await taskCompleteMany(this.sql, batch, false);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const p of batch) p.resolve(byId.get(p.id));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
