#!/usr/bin/env bash
# Fails when gen/ is not exactly what scripts/generate.sh makes from proto/ and
# buf.gen.yaml. Generates into a scratch copy, so the work tree is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/setup-tools.sh || {
  echo "check-gen: scripts/setup-tools.sh failed; cannot check gen/" >&2
  exit 1
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/baton-check-gen.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# What generation reads, plus the tools by symlink.
cp -R proto buf.yaml buf.gen.yaml buf.gen.grpc.yaml buf.gen.conformance.yaml scripts "$scratch/"
mkdir -p "$scratch/conformance"
cp -R conformance/proto "$scratch/conformance/"
if [[ -f buf.lock ]]; then cp buf.lock "$scratch/"; fi
mkdir -p "$scratch/gen/go"
for f in gen/go/go.mod gen/go/go.sum; do
  if [[ -f $f ]]; then cp "$f" "$scratch/$f"; fi
done
for d in node_modules .tools .venv; do ln -s "$root/$d" "$scratch/$d"; done

BATON_SKIP_SETUP=1 bash "$scratch/scripts/generate.sh" || {
  echo "check-gen: generation failed (see above)" >&2
  exit 1
}

# Caches that tests leave in gen/ are gitignored and are not output.
if ! diff -rq -x __pycache__ -x '*.pyc' -x .mypy_cache gen "$scratch/gen" >"$scratch/gen.diff"; then
  echo "check-gen: gen/ is stale: regenerating from proto/ and buf.gen.yaml would change it:" >&2
  sed -e 's|^Files \(gen/[^ ]*\) and .* differ$|  changed:   \1|' \
    -e 's|^Only in '"$scratch"'/\(gen[^:]*\): \(.*\)$|  missing:   \1/\2|' \
    -e 's|^Only in \(gen[^:]*\): \(.*\)$|  not generated (stale or hand-made): \1/\2|' \
    "$scratch/gen.diff" >&2
  echo "check-gen: run 'npm run generate' (scripts/generate.sh) and commit gen/." >&2
  exit 1
fi
echo "check-gen: gen/ is up to date"
