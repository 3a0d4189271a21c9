#!/usr/bin/env bash
# Tests the Go SDK (sdk/go): go vet, then go test -race against a real Baton
# server on real Postgres + NATS (the tests start them through
# test/support/stack.ts). Needs node_modules (npm install) and the system
# packages of scripts/install-deps.sh. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../sdk/go"
export GOTOOLCHAIN=local # never fetch a Go toolchain
export PATH="$PWD/../../node_modules/.bin:$PATH"

echo "== test-go-sdk: go vet ./..." >&2
go vet ./...

echo "== test-go-sdk: go test -race -count=1 ./..." >&2
go test -race -count=1 -timeout 5m ./...

echo "test-go-sdk: passed" >&2
