#!/usr/bin/env bash
# Installs the system packages tests and benchmarks need: PostgreSQL 15,
# nats-server and protoc. Idempotent; touches apt only when something is missing,
# so it is cheap to call at the start of every CI job.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(postgresql-15 postgresql-client-15 nats-server protobuf-compiler)

missing=()
for pkg in "${PACKAGES[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too; check the status line.
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

  # Tests run their own throwaway postmaster; the distro service would only hold
  # port 5432 and memory. policy-rc.d (exit 101) tells maintainer scripts not to
  # start services. Only add ours if none exists, and always remove it after.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    own_policy=1
  fi
  trap 'if [[ -n $own_policy ]]; then $SUDO rm -f "$policy"; fi' EXIT

  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null
fi

# Sanity-check what tests actually execute: the versioned binaries, not whatever
# happens to be on PATH (/usr/local/bin may carry symlinks or wrappers).
PG_BIN=/usr/lib/postgresql/15/bin
for bin in "$PG_BIN/initdb" "$PG_BIN/postgres" "$PG_BIN/pg_ctl" "$PG_BIN/pg_isready"; do
  [[ -x $bin ]] || { echo "install-deps: missing $bin" >&2; exit 1; }
done
command -v nats-server >/dev/null || { echo "install-deps: nats-server not on PATH" >&2; exit 1; }
command -v protoc >/dev/null || { echo "install-deps: protoc not on PATH" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "install-deps: no postgres system user" >&2; exit 1; }
