#!/usr/bin/env bash
# The protoc behind buf's protoc_builtin plugins (python, pyi) in buf.gen.yaml:
# the one inside the pinned grpcio-tools wheel in .venv, so the Python gencode
# always matches the pinned protobuf runtime (see requirements-dev.txt).
set -euo pipefail
py="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/python"
if [[ ! -x $py ]]; then
  echo "scripts/protoc.sh: $py is missing: run scripts/setup-tools.sh" >&2
  exit 1
fi
exec "$py" -m grpc_tools.protoc "$@"
