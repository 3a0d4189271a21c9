-- Live worker sessions, one row per open stream (Connect or Listen), written by
-- the replica holding the stream so ListWorkers sees every replica's workers.
-- A replica that dies leaves its rows behind: they turn STALE when
-- last_heartbeat_at is old and the sweeper deletes them after a minute.
CREATE TABLE IF NOT EXISTS baton_workers (
  session_id         uuid PRIMARY KEY,
  worker_id          text NOT NULL,
  instance_id        text NOT NULL,
  namespace          text NOT NULL,
  queues             text[] NOT NULL,
  task_types         text[] NOT NULL,
  labels             jsonb NOT NULL DEFAULT '{}',
  slots              integer NOT NULL,
  slots_used         integer NOT NULL DEFAULT 0,
  transport          text NOT NULL CHECK (transport IN ('CONNECT', 'LISTEN')),
  sdk                text NOT NULL DEFAULT '',
  replica_id         text NOT NULL,
  draining           boolean NOT NULL DEFAULT false,
  connected_at       timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS baton_workers_namespace ON baton_workers (namespace, connected_at);
