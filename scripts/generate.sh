#!/usr/bin/env bash
# Regenerates gen/ts, gen/go, gen/python and gen/descriptors from proto/ (and gRPC's
# reflection and health .proto files from node_modules, and the conformance suite's
# schema in conformance/proto) with local plugins only.
#
# BATON_SKIP_SETUP=1 skips scripts/setup-tools.sh (scripts/check-gen.sh uses it
# after running setup once itself).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${BATON_SKIP_SETUP:-} != 1 ]]; then
  bash scripts/setup-tools.sh || {
    echo "generate: scripts/setup-tools.sh failed, so the pinned plugins are not in place; nothing was generated" >&2
    exit 1
  }
fi
export PATH="$PWD/node_modules/.bin:$PWD/.tools/bin:$PWD/.venv/bin:$PATH"

# Every .proto file needs its Go package in buf.gen.yaml (see the comment there).
missing=0
while IFS= read -r file; do
  if (($(grep -cF -- "- M$file=" buf.gen.yaml) < 2)); then
    dir=$(dirname "$file")
    echo "generate: buf.gen.yaml has no Go package for $file; add this line to the opt of both" \
      "protoc-gen-go and protoc-gen-connect-go:" >&2
    echo "      - M$file=github.com/baton-run/baton/gen/go/$dir;$(tr -d / <<<"$dir")" >&2
    missing=1
  fi
done < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
((missing == 0)) || exit 1

# Clear stale output. gen/go/go.mod and gen/go/go.sum are maintained by hand: keep them.
rm -rf gen/ts gen/python gen/descriptors
if [[ -d gen/go ]]; then
  find gen/go -mindepth 1 -maxdepth 1 ! -name go.mod ! -name go.sum -exec rm -rf {} +
fi

buf generate

# gRPC reflection and health (TS only): see buf.gen.grpc.yaml.
buf generate --template buf.gen.grpc.yaml
# The conformance suite's own schema (TS, Go, Python): see buf.gen.conformance.yaml.
buf generate --template buf.gen.conformance.yaml
# Baton's descriptors with their comments (source info) and imports, read at run
# time by the surfaces that describe the API: gRPC reflection, /v1/schema,
# /v1/tool and MCP (server/src/http/descriptors.ts).
mkdir -p gen/descriptors
buf build --as-file-descriptor-set -o gen/descriptors/baton.binpb

# Make every directory under gen/python a regular package, so `from baton.v1 import
# task_pb2` works with gen/python on sys.path (mypy and pytest want them too).
find gen/python -mindepth 1 -type d -exec touch {}/__init__.py \;
