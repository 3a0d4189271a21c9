#!/usr/bin/env bash
# Installs the pinned code generation tools into the repo-local, gitignored
# .tools/ (Go plugins) and .venv/ (Python runtime, plugins, protoc, pytest, mypy).
#
# Idempotent and quick when everything is already in place: it only compares
# versions and a stamp. Needs no TTY and no root (nothing goes to apt: the protoc
# used for Python comes inside the grpcio-tools wheel). Network: the Go module
# proxy and PyPI, and only when something is missing or out of date.
#
# Environment: PYTHON (default python3, >= 3.11) builds the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Pinned Go plugins. gen/go/go.mod pins the matching runtime modules.
PROTOC_GEN_GO_VERSION=v1.36.12        # google.golang.org/protobuf
PROTOC_GEN_CONNECT_GO_VERSION=v1.21.1 # connectrpc.com/connect
# Pinned Python packages.
REQUIREMENTS=requirements-dev.txt

log() { echo "setup-tools: $*" >&2; }
die() {
  echo "setup-tools: error: $*" >&2
  exit 1
}

mkdir -p .tools/bin
# One setup at a time: concurrent runs (say, check-gen beside a generate) wait here.
exec 9>.tools/.setup.lock
if command -v flock >/dev/null; then flock 9; fi

# --- npm: buf and protoc-gen-es --------------------------------------------------
# (and the .proto files of gRPC reflection and health that buf.gen.grpc.yaml reads)
if [[ ! -x node_modules/.bin/buf || ! -x node_modules/.bin/protoc-gen-es ||
  ! -d node_modules/@grpc/reflection/build/proto || ! -d node_modules/grpc-health-check/proto ]]; then
  command -v npm >/dev/null || die "node_modules/.bin/buf is missing and npm is not on PATH"
  log "node_modules/.bin/buf or protoc-gen-es missing: running npm install (as .ci/run does)"
  npm install --no-audit --no-fund >&2 || die "npm install failed; buf and protoc-gen-es come from package.json"
fi

# --- Go plugins --------------------------------------------------------------------
# GOTOOLCHAIN=local: never fetch a Go toolchain; an old Go fails here, clearly.
export GOTOOLCHAIN=local
go_tool() { # <binary> <package> <version> <expected --version output>
  local bin=".tools/bin/$1" pkg=$2 version=$3 want=$4
  if [[ -x $bin ]] && [[ $("$bin" --version 2>/dev/null) == "$want" ]]; then
    return 0
  fi
  command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is needed to build $1)"
  log "installing $pkg@$version into .tools/bin"
  GOBIN="$root/.tools/bin" go install "$pkg@$version" ||
    die "go install $pkg@$version failed (it needs Go >= 1.26; this is $(go env GOVERSION))"
  [[ $("$bin" --version 2>/dev/null) == "$want" ]] || die "$bin --version is not '$want' after install"
}
setup_go_tools() {
  go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go \
    "$PROTOC_GEN_GO_VERSION" "protoc-gen-go $PROTOC_GEN_GO_VERSION"
  go_tool protoc-gen-connect-go connectrpc.com/connect/cmd/protoc-gen-connect-go \
    "$PROTOC_GEN_CONNECT_GO_VERSION" "${PROTOC_GEN_CONNECT_GO_VERSION#v}"
}

# --- Python venv ---------------------------------------------------------------------
# The stamp records what the venv was built from; any change rebuilds it from scratch,
# so the venv never holds leftovers of older pins.
setup_venv() {
  python=${PYTHON:-python3}
  stamp=.venv/.baton-setup-stamp
  want_stamp="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1) $($python -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo none)"
  if [[ -f $stamp && $(cat "$stamp") == "$want_stamp" ]] && .venv/bin/python -c '' 2>/dev/null; then
    :
  else
    command -v "$python" >/dev/null || die "$python is not on PATH (set PYTHON to a Python >= 3.11)"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
      die "$python is $($python --version 2>&1); connectrpc needs Python >= 3.11 (set PYTHON)"
    log "building .venv from $REQUIREMENTS with $($python --version 2>&1)"
    rm -rf .venv
    "$python" -m venv .venv || die "$python -m venv failed (on Debian: apt-get install python3-venv)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
      .venv/bin/python -m pip install --quiet --requirement "$REQUIREMENTS" ||
      die "pip install -r $REQUIREMENTS failed"
    .venv/bin/python -m grpc_tools.protoc --version >/dev/null || die "grpc_tools.protoc does not run"
    echo "$want_stamp" >"$stamp"
  fi
}

# --- Both at once: pip mostly waits on the network while Go compiles ----------------
setup_venv &
venv_pid=$!
setup_go_tools &
go_pid=$!
ok=1
wait "$go_pid" || ok=0
wait "$venv_pid" || ok=0
((ok)) || die "some tools could not be installed (see above)"
