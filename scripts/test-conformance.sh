#!/usr/bin/env bash
# Runs the worker conformance suite (conformance/, docs/CONFORMANCE.md) against
# the adapters of the TS, Python and Go SDKs, each with its known-failing list
# (sdk/<lang>/conformance/known-failing.txt). JUnit reports go to
# .baton/conformance/<sdk>.xml. Exits non-zero if any SDK fails a case that is
# not listed, or passes one that is.
#
#   bash scripts/test-conformance.sh                        # all three SDKs
#   BATON_CONFORMANCE_SDKS="go" bash scripts/test-conformance.sh --run 'lease/' --trace
#   BATON_CONFORMANCE_SDKS="ts-listen" bash scripts/test-conformance.sh   # TS on the Listen fallback
#
# Extra arguments go to every runner (see `npx baton-conformance --help`).
# Needs node_modules (npm install), and for Python .venv (scripts/setup-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local # never fetch a Go toolchain
export PATH="$PWD/node_modules/.bin:$PATH"

sdks=${BATON_CONFORMANCE_SDKS:-ts python go}
out=.baton/conformance
mkdir -p "$out"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/baton-conformance.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

step() { printf '\n== test-conformance: %s\n' "$*" >&2; }
failed=()

# The runner itself, under tsx; the suite's own schema must lint.
run() { node --import tsx conformance/src/cli.ts --trace "$@"; }
step "buf lint conformance/proto"
buf lint conformance/proto || failed+=("lint")

for sdk in $sdks; do
  case $sdk in
  ts)
    step "TypeScript SDK (sdk/ts/conformance/adapter.ts)"
    run --worker "node --import tsx sdk/ts/conformance/adapter.ts" \
      --known-failing sdk/ts/conformance/known-failing.txt --junit "$out/ts.xml" "$@" || failed+=("ts")
    ;;
  ts-listen)
    # Opt-in: the TS SDK on the Listen fallback (F1), with its own known-failing list.
    step "TypeScript SDK on the Listen fallback (BATON_CONFORMANCE_TRANSPORT=listen)"
    BATON_CONFORMANCE_TRANSPORT=listen run --worker "node --import tsx sdk/ts/conformance/adapter.ts" \
      --known-failing sdk/ts/conformance/known-failing-listen.txt --junit "$out/ts-listen.xml" "$@" || failed+=("ts-listen")
    ;;
  python)
    step "Python SDK (sdk/python/conformance/adapter.py)"
    if [[ ! -x .venv/bin/python ]]; then
      echo "test-conformance: .venv is missing: run scripts/setup-tools.sh" >&2
      failed+=("python")
      continue
    fi
    (cd sdk/python/conformance && ../../../.venv/bin/python -m mypy --config-file mypy.ini --no-error-summary adapter.py) ||
      failed+=("python (mypy)")
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$PWD/sdk/python/src" \
      run --worker "$PWD/.venv/bin/python sdk/python/conformance/adapter.py" \
      --known-failing sdk/python/conformance/known-failing.txt --junit "$out/python.xml" "$@" || failed+=("python")
    ;;
  go)
    step "Go SDK (sdk/go/conformance/adapter)"
    if ! (cd sdk/go && go build -o "$scratch/baton-go-adapter" ./conformance/adapter); then
      echo "test-conformance: the Go adapter does not build" >&2
      failed+=("go (build)")
      continue
    fi
    run --worker "$scratch/baton-go-adapter" \
      --known-failing sdk/go/conformance/known-failing.txt --junit "$out/go.xml" "$@" || failed+=("go")
    ;;
  *)
    echo "test-conformance: unknown SDK '$sdk' (ts, ts-listen, python, go)" >&2
    failed+=("$sdk")
    ;;
  esac
done

if ((${#failed[@]})); then
  echo "test-conformance: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test-conformance: every SDK conforms (JUnit reports in $out/)" >&2
