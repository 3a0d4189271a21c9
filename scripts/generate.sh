#!/usr/bin/env bash
# Regenerates gen/ts, gen/go and gen/python from proto/ with local plugins only.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
rm -rf gen/ts
buf generate
