import { Code, ConnectError, createClient, type Client as RpcClient } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Task, TaskEvent, TaskState } from "../../../gen/ts/baton/v1/task_pb.js";
import {
  TaskService,
  type ClaimTasksRequestSchema,
  type CompleteTaskRequestSchema,
  type CreateTaskRequestSchema,
  type FailTaskRequestSchema,
  type ListTasksRequestSchema,
  type ListTasksResponse,
} from "../../../gen/ts/baton/v1/task_service_pb.js";
import { BatonError } from "./errors.js";
import { openTransport, type OwnedTransport, type TransportOptions } from "./transport.js";
import { resumableWatch, type WatchOptions, type WatchTasksInput } from "./watch.js";

export type CreateTaskInput = MessageInitShape<typeof CreateTaskRequestSchema>;
/** ListTasks filters; paging is handled by the iterator. */
export interface ListTasksInput {
  namespace?: string;
  queue?: string;
  type?: string;
  states?: TaskState[];
  /** Tasks per request, 1..500 (default 50). */
  pageSize?: number;
}
export type ClaimTasksInput = MessageInitShape<typeof ClaimTasksRequestSchema>;
export type CompleteTaskInput = MessageInitShape<typeof CompleteTaskRequestSchema>;
export type FailTaskInput = MessageInitShape<typeof FailTaskRequestSchema>;

export interface ClientOptions extends TransportOptions {}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface CreatedTask {
  task: Task;
  /** False when the idempotency key returned an existing task (I1). */
  created: boolean;
}

export interface HeartbeatResult {
  /** The new lease deadline (L2). */
  leaseExpireTime: Date | undefined;
  /** Stop the handler and call failTask (W2). */
  cancelRequested: boolean;
}

/**
 * TaskService for producers, operators and polling workers. Every method
 * throws BatonError, so callers can branch on `reason` and `retryable`.
 * Nothing is retried behind the caller's back: whether a call is safe to
 * repeat depends on the idempotency key, which only the caller knows.
 */
export class Client {
  /** The generated Connect client, for calls this class does not wrap. */
  readonly rpc: RpcClient<typeof TaskService>;
  readonly #owned: OwnedTransport;

  constructor(opts: ClientOptions) {
    this.#owned = openTransport(opts);
    this.rpc = createClient(TaskService, this.#owned.transport);
  }

  async createTask(req: CreateTaskInput, opts?: CallOptions): Promise<CreatedTask> {
    const res = await call(() => this.rpc.createTask(req, opts));
    return { task: required(res.task), created: res.created };
  }

  /** All or none: one transaction for up to 500 tasks. Returned in request order. */
  async batchCreateTasks(requests: CreateTaskInput[], opts?: CallOptions): Promise<Task[]> {
    const res = await call(() => this.rpc.batchCreateTasks({ requests }, opts));
    return res.tasks;
  }

  /** With its attempt history. */
  async getTask(id: string, opts?: CallOptions): Promise<Task> {
    const res = await call(() => this.rpc.getTask({ id }, opts));
    return required(res.task);
  }

  /** Every matching task, newest first, fetched page by page as the loop advances. */
  async *listTasks(filter: ListTasksInput = {}, opts?: CallOptions): AsyncGenerator<Task> {
    let pageToken = "";
    do {
      const page = await this.listTasksPage({ ...filter, pageToken }, opts);
      yield* page.tasks;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /** One page, for callers that keep the token themselves (e.g. a paged UI). */
  listTasksPage(req: MessageInitShape<typeof ListTasksRequestSchema>, opts?: CallOptions): Promise<ListTasksResponse> {
    return call(() => this.rpc.listTasks(req, opts));
  }

  async cancelTask(id: string, reason = "", opts?: CallOptions): Promise<Task> {
    const res = await call(() => this.rpc.cancelTask({ id, reason }, opts));
    return required(res.task);
  }

  /** DEAD_LETTER → PENDING with a fresh attempt budget; not claimable before `scheduledTime` when given. */
  async requeueTask(id: string, scheduledTime?: Date, opts?: CallOptions): Promise<Task> {
    const res = await call(() =>
      this.rpc.requeueTask({ id, scheduledTime: scheduledTime ? timestampFromDate(scheduledTime) : undefined }, opts),
    );
    return required(res.task);
  }

  /**
   * Task events, first those after `afterCursor` (when set), then live ones,
   * reconnecting on stream errors without gaps or duplicates. Runs until
   * `signal` aborts or the loop breaks; throws BatonError for errors a
   * reconnect cannot fix (e.g. INVALID_ARGUMENT).
   */
  watchTasks(req: WatchTasksInput = {}, opts: WatchOptions = {}): AsyncGenerator<TaskEvent> {
    return resumableWatch((r, signal) => this.rpc.watchTasks(r, { signal }), req, opts);
  }

  /** Polling workers: claims up to `maxTasks`, each with a fresh lease. */
  async claimTasks(req: ClaimTasksInput, opts?: CallOptions): Promise<Task[]> {
    const res = await call(() => this.rpc.claimTasks(req, opts));
    return res.tasks;
  }

  async heartbeat(taskId: string, leaseId: string, opts?: CallOptions): Promise<HeartbeatResult> {
    const res = await call(() => this.rpc.heartbeat({ taskId, leaseId }, opts));
    return {
      leaseExpireTime: res.leaseExpireTime ? timestampDate(res.leaseExpireTime) : undefined,
      cancelRequested: res.cancelRequested,
    };
  }

  async completeTask(req: CompleteTaskInput, opts?: CallOptions): Promise<Task> {
    const res = await call(() => this.rpc.completeTask(req, opts));
    return required(res.task);
  }

  async failTask(req: FailTaskInput, opts?: CallOptions): Promise<Task> {
    const res = await call(() => this.rpc.failTask(req, opts));
    return required(res.task);
  }

  /** Closes the client's HTTP/2 connection, if it opened one. */
  close(): void {
    this.#owned.close();
  }
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw BatonError.from(err);
  }
}

/** The schema marks message fields optional; Baton always sets these (C1). */
function required(task: Task | undefined): Task {
  if (!task) throw new BatonError(new ConnectError("protocol error: the response carries no task", Code.Internal));
  return task;
}
