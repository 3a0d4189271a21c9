/**
 * Health: gRPC's grpc.health.v1.Health (Check, Watch, List) for gRPC load
 * balancers and `grpc-health-probe`, and plain HTTP probes for everything else:
 *
 *   GET /healthz  liveness: the process serves requests (never touches the database)
 *   GET /readyz   readiness: the database answers; 503 when it does not
 *
 * The gRPC statuses follow readiness: SERVING while the database answers.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import { Health, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as Status, HealthListResponseSchema } from "../../../gen/ts/health/v1/health_pb.js";
import type { Queryable } from "../store/database.js";
import { databasePing } from "../store/ping.js";
import { SERVER_VERSION } from "../version.js";
import { sendJson, type RouteHandler } from "./router.js";

export interface HealthOptions {
  sql: Queryable;
  databaseKind: string;
  /** Service names Check and Watch know, besides "" (the whole server). */
  services: () => string[];
  log: Logger;
  /** How long the database may take to answer a probe. Default 2 s. */
  probeTimeoutMs?: number;
  /** How often Watch re-checks. Default 5 s. */
  watchIntervalMs?: number;
}

export interface HealthSurface {
  service: ServiceImpl<typeof Health>;
  liveness: RouteHandler;
  readiness: RouteHandler;
}

interface Probe {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export function createHealth(opts: HealthOptions): HealthSurface {
  const timeoutMs = opts.probeTimeoutMs ?? 2_000;
  const watchIntervalMs = opts.watchIntervalMs ?? 5_000;

  const probe = async (): Promise<Probe> => {
    const startedMs = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        databasePing(opts.sql),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ok: true, latencyMs: Math.round(performance.now() - startedMs) };
    } catch (err) {
      return { ok: false, latencyMs: Math.round(performance.now() - startedMs), error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  };

  const known = (service: string) => service === "" || opts.services().includes(service);
  const status = async (service: string): Promise<Status> => {
    if (!known(service)) return Status.SERVICE_UNKNOWN;
    return (await probe()).ok ? Status.SERVING : Status.NOT_SERVING;
  };

  return {
    service: {
      async check(req) {
        if (!known(req.service)) throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
        return create(HealthCheckResponseSchema, { status: await status(req.service) });
      },
      async *watch(req, ctx) {
        let last: Status | undefined;
        while (!ctx.signal.aborted) {
          const now = await status(req.service);
          if (now !== last) yield create(HealthCheckResponseSchema, { status: now });
          last = now;
          await sleep(watchIntervalMs, ctx.signal);
        }
      },
      async list() {
        const serving = (await probe()).ok ? Status.SERVING : Status.NOT_SERVING;
        const statuses = Object.fromEntries(["", ...opts.services()].map((s) => [s, create(HealthCheckResponseSchema, { status: serving })]));
        return create(HealthListResponseSchema, { statuses });
      },
    },
    liveness: (_req, res) => sendJson(res, 200, { status: "ok", version: SERVER_VERSION }),
    readiness: async (_req, res) => {
      const database = await probe();
      if (!database.ok) opts.log.warn({ error: database.error }, "readiness: database check failed");
      sendJson(res, database.ok ? 200 : 503, {
        status: database.ok ? "ready" : "not_ready",
        checks: { database: { ...database, kind: opts.databaseKind } },
      });
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
