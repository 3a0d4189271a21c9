#!/usr/bin/env bash
# `buf breaking`: fails when the protos in the work tree are not wire- and
# source-compatible (buf.yaml `breaking: FILE`) with the last committed protos
# they build on. A breaking change must be deliberate: set BATON_ALLOW_BREAKING=1
# for the run that lands it, and say so in the commit message.
#
# What "the last committed protos" means, so that the check is never a no-op
# comparing a tree with itself:
#   - On a branch (HEAD is not main's tip): the merge-base of HEAD and main
#     (`main`, else `origin/main`). That covers every change the branch brings,
#     committed or not, which is what the integrator will merge.
#   - On main with uncommitted proto changes (a session editing main): HEAD.
#     That catches the breaking change before it is committed.
#   - On main, clean (CI's fresh clone): HEAD~1, so the commit under test is
#     checked against its parent. A shallow clone has no parent: the check is
#     skipped with a note (there is nothing committed to compare with), never
#     failed.
# The baseline is taken with `git archive` into a scratch directory rather than
# buf's `.git#ref=` input, which needs a `.git` directory (a worktree has a
# file) and full history (a shallow clone may not have it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

if [[ ${BATON_ALLOW_BREAKING:-} == 1 ]]; then
  echo "check-breaking: skipped (BATON_ALLOW_BREAKING=1: a deliberate breaking change)"
  exit 0
fi
if ! git rev-parse --verify -q HEAD >/dev/null; then
  echo "check-breaking: skipped: not a git checkout with commits"
  exit 0
fi

main=""
for ref in main origin/main; do
  if git rev-parse --verify -q "$ref^{commit}" >/dev/null; then main=$ref; break; fi
done

head=$(git rev-parse HEAD)
base=""
why=""
if [[ -n $main ]] && mb=$(git merge-base HEAD "$main" 2>/dev/null) && [[ $mb != "$head" ]]; then
  base=$mb
  why="merge-base of HEAD and $main"
elif [[ -n $(git status --porcelain -- proto buf.yaml) ]]; then
  base=$head
  why="HEAD (the work tree has uncommitted proto changes)"
elif git rev-parse --verify -q "HEAD~1^{commit}" >/dev/null; then
  base=$(git rev-parse HEAD~1)
  why="HEAD~1 (clean tree at main: the last commit against its parent)"
else
  echo "check-breaking: skipped: clean shallow checkout, no parent commit to compare with"
  exit 0
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/baton-check-breaking.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
if ! git cat-file -e "$base:proto" 2>/dev/null; then
  echo "check-breaking: skipped: ${base:0:12} has no proto/ (nothing to break)"
  exit 0
fi
git archive "$base" proto buf.yaml | tar -x -C "$scratch"

echo "check-breaking: against ${base:0:12}: $why"
buf breaking --against "$scratch"
echo "check-breaking: no breaking changes"
