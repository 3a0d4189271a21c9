// A scripted WorkerService for unit tests: each test plays the server's side
// of the protocol message by message over an in-memory transport.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError, createRouterTransport, type Transport } from "@connectrpc/connect";
import { TaskSchema, type Task } from "../../../gen/ts/baton/v1/task_pb.js";
import type { Hello } from "../../../gen/ts/baton/v1/worker_pb.js";
import {
  ConnectResponseSchema,
  WorkerService,
  type ConnectRequest,
  type ConnectResponse,
} from "../../../gen/ts/baton/v1/worker_service_pb.js";
import { AsyncQueue } from "./queue.js";

type WorkerMessage = Exclude<ConnectRequest["message"], { case: undefined }>;
type Case = WorkerMessage["case"];
type Of<C extends Case> = Extract<WorkerMessage, { case: C }>["value"];

const WAIT_MS = 5_000;

async function nextOf<T>(it: AsyncIterator<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) throw new Error(`ended while waiting for ${what}`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** One worker stream as the fake server sees it. */
export class FakeStream {
  readonly hello: Promise<Hello>;
  /** Resolves when the worker ends its side of the stream. */
  readonly closedByWorker: Promise<void>;
  readonly #out = new AsyncQueue<ConnectResponse>();
  readonly #incoming: AsyncIterator<WorkerMessage>;

  constructor(requests: AsyncIterable<ConnectRequest>) {
    const inbox = new AsyncQueue<WorkerMessage>();
    this.#incoming = inbox[Symbol.asyncIterator]();
    let resolveClosed!: () => void;
    this.closedByWorker = new Promise((r) => (resolveClosed = r));
    void (async () => {
      try {
        for await (const r of requests) if (r.message.case !== undefined) inbox.push(r.message);
      } catch {
        // The worker aborted the stream.
      }
      inbox.close();
      // Like Baton: once the worker ends its side, the server ends the stream.
      this.#out.close();
      resolveClosed();
    })();
    this.hello = nextOf(this.#incoming, "Hello").then((m) => {
      if (m.case !== "hello") throw new Error(`first message was ${m.case}, not Hello (H1)`);
      return m.value;
    });
  }

  responses(): AsyncIterable<ConnectResponse> {
    return this.#out;
  }

  send(message: MessageInitShape<typeof ConnectResponseSchema>["message"]): void {
    this.#out.push(create(ConnectResponseSchema, { message }));
  }

  welcome(opts: { heartbeatIntervalMs?: number; cancelGraceMs?: number; resumed?: Hello["resumeLeases"]; lost?: Hello["resumeLeases"]; features?: string[] } = {}): void {
    this.send({
      case: "welcome",
      value: {
        sessionId: "session-1",
        heartbeatInterval: durationFromMs(opts.heartbeatIntervalMs ?? 60_000),
        cancelGrace: durationFromMs(opts.cancelGraceMs ?? 10_000),
        features: opts.features ?? ["extend_lease", "resume"],
        resumed: opts.resumed ?? [],
        lost: opts.lost ?? [],
      },
    });
  }

  assign(task: Task): void {
    this.send({ case: "assign", value: { task } });
  }

  /** The next message of kind `kind`, skipping heartbeats unless asked for. */
  async next<C extends Case>(kind: C, ms = WAIT_MS): Promise<Of<C>> {
    for (;;) {
      const m = await nextOf(this.#incoming, kind, ms);
      if (m.case === kind) return m.value as Of<C>;
      if (m.case === "heartbeat") continue;
      throw new Error(`expected ${kind}, got ${m.case}`);
    }
  }

  /** Ends the stream from the server's side, cleanly or with an error. */
  end(err?: ConnectError): void {
    if (err) this.#out.fail(err);
    else this.#out.close();
  }
}

/** Accepts worker streams over an in-memory transport. */
export class FakeServer {
  readonly transport: Transport;
  readonly #streams = new AsyncQueue<FakeStream>();
  readonly #accepted = this.#streams[Symbol.asyncIterator]();

  constructor() {
    this.transport = createRouterTransport(({ service }) =>
      service(WorkerService, {
        connect: (requests) => {
          const stream = new FakeStream(requests);
          this.#streams.push(stream);
          return stream.responses();
        },
      }),
    );
  }

  /** The next stream a worker opens. */
  accept(ms = WAIT_MS): Promise<FakeStream> {
    return nextOf(this.#accepted, "a worker stream", ms);
  }
}

let seq = 0;

/** A task as Assign carries it: with a lease. */
export function leasedTask(type: string, payload: Task["payload"] = {}, attempt = 1): Task {
  seq++;
  const id = `00000000-0000-7000-8000-${String(seq).padStart(12, "0")}`;
  return create(TaskSchema, { id, type, queue: "q", payload, attempt, lease: { leaseId: `lease-${seq}`, attempt, workerId: "w" } });
}
