#!/usr/bin/env bash
# Tests the generated code: gen/ is current, gen/go builds and passes vet and a
# round-trip test, gen/python imports, round-trips and type-checks.
# Installs its pinned tools first (scripts/setup-tools.sh, via check-gen).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== test-gen: %s\n' "$*" >&2; }
fail() {
  echo "test-gen: FAILED: $*" >&2
  exit 1
}

step "gen/ is what scripts/generate.sh makes (scripts/check-gen.sh)"
bash scripts/check-gen.sh || fail "gen/ is stale or generation failed"

export GOTOOLCHAIN=local # never fetch a Go toolchain

step "gen/go: go vet and go build"
(cd gen/go && go vet ./... && go build ./...) || fail "gen/go does not build"

step "test/gen/go: go test against gen/go"
(cd test/gen/go && go vet ./... && go test -count=1 ./...) || fail "test/gen/go"

step "test/gen/python: pytest against gen/python"
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m pytest -p no:cacheprovider -q \
  test/gen/python/test_generated.py || fail "pytest test/gen/python"

step "mypy: gen/python stubs and test/gen/python"
MYPYPATH=gen/python .venv/bin/python -m mypy --no-error-summary \
  gen/python/baton test/gen/python || fail "mypy"

echo "test-gen: all generated-code checks passed" >&2
