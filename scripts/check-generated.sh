#!/usr/bin/env bash
# gen/ must be exactly what `buf generate` makes from proto/: regenerate, then
# fail if anything in gen/ changed (or appeared) relative to what git has.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
buf generate
if [ -n "$(git status --porcelain -- gen)" ]; then
  git status --porcelain -- gen
  git --no-pager diff --stat -- gen
  echo "gen/ is stale: run npm run generate and commit the result" >&2
  exit 1
fi
echo "gen/: fresh"
