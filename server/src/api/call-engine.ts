import type { HandlerContext } from "@connectrpc/connect";
import type { Engine } from "../engine/engine.js";
import { callLog } from "../observe/call-log.js";

/** The engine as seen by one call: the same storage and bus, with the call's logger (its request id). */
export function callEngine(engine: Engine, ctx: HandlerContext): Engine {
  return { ...engine, log: callLog(ctx.values, engine.log) };
}
