#!/usr/bin/env bash
# `npm test`: everything, on a fresh machine. Installs what it needs itself
# (Postgres, nats-server and protoc from Debian; Go plugins and Python packages
# into .tools/ and .venv/), then checks the protocol, the generated code, the
# server and the SDKs against real Postgres and NATS started on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export GOTOOLCHAIN=local

step() { printf '\n== npm test: %s\n' "$*"; }

step "system packages (Postgres, nats-server, protoc)"
bash scripts/install-deps.sh

step "pinned code-generation tools (Go plugins, Python venv)"
bash scripts/setup-tools.sh

step "buf lint"
buf lint

step "buf breaking (against the last committed protos; see scripts/check-breaking.sh)"
bash scripts/check-breaking.sh

step "generated code is current and compiles in TS, Go and Python"
bash scripts/test-gen.sh
tsc --noEmit -p tsconfig.json

step "layers run one way (dependency-cruiser, .dependency-cruiser.cjs)"
depcruise server/src --config .dependency-cruiser.cjs

step "unit and integration tests (vitest: real Postgres + NATS, and embedded PGlite)"
vitest run

step "Python SDK (mypy --strict, pytest against a real server)"
bash scripts/test-python-sdk.sh

step "Go SDK (go vet, go test -race against a real server)"
bash scripts/test-go-sdk.sh

step "worker conformance suite against the TS, Python and Go SDKs"
bash scripts/test-conformance.sh

step "benchmark harness smoke run (tiny counts; timings are not asserted)"
tsx test/bench/run.ts --smoke
