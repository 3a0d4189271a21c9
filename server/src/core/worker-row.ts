/** A baton_workers row (a live worker session), shared by store, engine and api. */
export interface WorkerRow {
  session_id: string;
  worker_id: string;
  instance_id: string;
  namespace: string;
  queues: string[];
  task_types: string[];
  labels: Record<string, string>;
  slots: number;
  slots_used: number;
  transport: "CONNECT" | "LISTEN";
  sdk: string;
  replica_id: string;
  draining: boolean;
  connected_at: Date;
  last_heartbeat_at: Date;
  /** Seconds since the last heartbeat, by the database clock. */
  silent_for_s: number;
}
