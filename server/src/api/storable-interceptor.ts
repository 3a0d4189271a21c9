import { create, type DescMessage, type Message } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { NextActionSchema } from "../../../gen/ts/baton/v1/contract_pb.js";
import { invalidArgument } from "../core/errors.js";
import { storableMessage } from "../core/storable.js";

/**
 * Applies rule S5 (core/storable.ts) at the edge: a request message holding a
 * string Postgres cannot store is refused INVALID_ARGUMENT / INVALID_FIELD with
 * the field paths before its handler acts on it, so nothing is written. Unary
 * calls and server streams (WatchTasks, Listen) are checked here;
 * WorkerService.Connect checks each message it reads itself, because a bad
 * Result there is refused by its Ack (R6) instead of ending the stream.
 */
export function createStorableInterceptor(): Interceptor {
  return (next) => async (req) => {
    const retry = create(NextActionSchema, {
      rpc: `${req.service.typeName}/${req.method.name}`,
      httpPath: `/${req.service.typeName}/${req.method.name}`,
      purpose: "fix the listed fields and send the request again",
    });
    const check = (message: Message) => {
      const violations = storableMessage(req.method.input as DescMessage, message);
      if (violations.length > 0) throw invalidArgument(violations, retry);
    };
    if (!req.stream) {
      check(req.message);
      return next(req);
    }
    if (req.method.methodKind !== "server_streaming") return next(req);
    // A server stream's one request message arrives as a stream: check it as it is read.
    const messages = req.message;
    async function* checked() {
      for await (const m of messages) {
        check(m);
        yield m;
      }
    }
    return next({ ...req, message: checked() });
  };
}
