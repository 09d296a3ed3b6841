#!/usr/bin/env bash
# gen/ must be exactly what `npm run generate` makes from proto/: generate into
# a scratch copy and compare, so the check never touches the working tree and
# needs no git.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r package.json proto buf.yaml buf.gen.yaml "$scratch"/
(cd "$scratch" && npm run --silent generate)
if ! diff -r "$scratch/gen" gen; then
  echo "gen/ is stale: run npm run generate and commit the result" >&2
  exit 1
fi
echo "gen/: fresh"
