#!/usr/bin/env bash
# Long-lived Postgres + nats-server on loopback for humans and benchmarks.
#   scripts/services.sh start    # idempotent; prints the exports on stdout
#   scripts/services.sh stop     # keeps the data for the next start
#   scripts/services.sh env      # eval "$(scripts/services.sh env)"
#   scripts/services.sh status
#   scripts/services.sh reset    # stop and delete all state
# State lives in .baton/services/ (gitignored). Ports are picked once and kept,
# so URLs stay stable across restarts. Tests do not use this: they start their
# own servers through test/support/.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/.baton/services"
PG_BIN="${BATON_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR="$DIR/pg"
PG_DATA="$PG_DIR/data"
NATS_DIR="$DIR/nats"
PORTS="$DIR/ports.env"

log() { echo "services: $*" >&2; }
die() { log "$*"; exit 1; }

# Postgres refuses to run as root; root runs it as the Debian postgres user.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

nats_bin() {
  for c in "${BATON_NATS_SERVER:-}" /usr/sbin/nats-server /usr/bin/nats-server; do
    [[ -n $c && -x $c ]] && { echo "$c"; return; }
  done
  command -v nats-server || die "nats-server not found: run scripts/install-deps.sh"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

load_ports() {
  if [[ ! -f $PORTS ]]; then
    mkdir -p "$DIR"
    printf 'PG_PORT=%s\nNATS_PORT=%s\n' "$(free_port)" "$(free_port)" >"$PORTS"
  fi
  # shellcheck source=/dev/null
  source "$PORTS"
}

print_env() {
  load_ports
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres NATS_URL=nats://127.0.0.1:$NATS_PORT"
}

pg_running() { [[ -f $PG_DATA/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
nats_running() { [[ -f $NATS_DIR/nats.pid ]] && kill -0 "$(cat "$NATS_DIR/nats.pid")" 2>/dev/null; }

nats_greets() {
  # Ready once the server sends its INFO line; a refused connection fails fast.
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT && head -c 4 <&3" 2>/dev/null | grep -q INFO
}

start_pg() {
  if pg_running; then return; fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    mkdir -p "$PG_DIR/sock"
    if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$PG_DIR"; fi
    as_pg test -x "$PG_DIR" || die "the postgres user cannot reach $PG_DIR (check permissions of its parents)"
    log "initdb $PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C \
      --no-sync --no-instructions >/dev/null
    # Same tuning as test/support/postgres.ts; see the reasoning there.
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# baton dev settings
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR/sock'
max_connections = 300
fsync = off
synchronous_commit = on
full_page_writes = off
EOF
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT"
  # -w polls until the server accepts connections (bounded by -t), no sleeps.
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -o "-p $PG_PORT" -w -t 60 start >/dev/null \
    || die "postgres failed to start; see $PG_DIR/postgres.log"
}

start_nats() {
  if nats_running; then return; fi
  mkdir -p "$NATS_DIR"
  log "starting nats-server on 127.0.0.1:$NATS_PORT"
  setsid "$(nats_bin)" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_DIR/jetstream" \
    -P "$NATS_DIR/nats.pid" -l "$NATS_DIR/nats.log" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 150); do
    nats_greets && return
    kill -0 $! 2>/dev/null || die "nats-server exited; see $NATS_DIR/nats.log"
    sleep 0.1
  done
  die "nats-server not ready after 15 s; see $NATS_DIR/nats.log"
}

stop_all() {
  if pg_running; then
    log "stopping postgres"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  fi
  if nats_running; then
    log "stopping nats-server"
    local pid
    pid="$(cat "$NATS_DIR/nats.pid")"
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

case "${1:-}" in
  start)
    load_ports
    start_pg
    start_nats
    print_env
    ;;
  stop) stop_all ;;
  env) print_env ;;
  status)
    load_ports
    pg_running && echo "postgres: running on $PG_PORT" || echo "postgres: stopped"
    nats_running && echo "nats: running on $NATS_PORT" || echo "nats: stopped"
    ;;
  reset)
    stop_all
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start|stop|env|status|reset" >&2
    exit 2
    ;;
esac
