#!/usr/bin/env bash
# Tests the Python SDK (sdk/python): mypy --strict on the package, then pytest
# end to end against real Postgres + NATS (test/support/stack.ts) and Baton
# server processes the fixtures start. Needs scripts/install-deps.sh and
# scripts/setup-tools.sh done (scripts/test.sh does both first).
#
# Extra arguments go to pytest, e.g. scripts/test-python-sdk.sh -k restart -x
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== test-python-sdk: %s\n' "$*" >&2; }
fail() {
  echo "test-python-sdk: FAILED: $*" >&2
  exit 1
}

[[ -x .venv/bin/python ]] || fail ".venv is missing: run scripts/setup-tools.sh"
[[ -x node_modules/.bin/tsx ]] || fail "node_modules/.bin/tsx is missing: run npm install"
[[ -d sdk/python/src/baton/v1 ]] || fail "sdk/python/src/baton/v1 (a symlink to gen/python/baton/v1) is missing"

export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$PWD/sdk/python/src${PYTHONPATH:+:$PYTHONPATH}"

step "mypy --strict: sdk/python (package, tests, example)"
(cd sdk/python && ../../.venv/bin/python -m mypy --strict --no-error-summary) || fail "mypy"
(cd sdk/python && MYPYPATH=src:tests ../../.venv/bin/python -m mypy --strict --no-error-summary \
  --explicit-package-bases tests examples) || fail "mypy (tests, examples)"

step "pytest: sdk/python/tests (real Postgres + NATS, Baton processes)"
(cd sdk/python && ../../.venv/bin/python -m pytest -p no:cacheprovider -q --durations=5 "$@" tests) ||
  fail "pytest sdk/python/tests"

echo "test-python-sdk: all Python SDK checks passed" >&2
