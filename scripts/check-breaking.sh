#!/usr/bin/env bash
# buf breaking, two ways:
#  1. against test/fixtures/original (the original Go server's chat.v1) with the
#     WIRE_JSON rules: every original field keeps its number, type and name;
#  2. against the proto's first committed version and the previous commit with
#     buf.yaml's FILE rules, so no change of ours breaks our own clients.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
proto=proto/chat/v1/chat.proto

buf breaking --against test/fixtures/original \
  --config '{"version":"v2","modules":[{"path":"proto"}],"breaking":{"use":["WIRE_JSON"]}}'
echo "buf breaking: compatible with the original chat.v1 (WIRE_JSON)"

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "buf breaking: not a git checkout, history checks skipped"
  exit 0
fi
first=$(git log --diff-filter=A --format=%H -- "$proto" | tail -n 1)
refs=()
[ -n "$first" ] && refs+=("$first")
git cat-file -e "HEAD~1:$proto" 2>/dev/null && refs+=("$(git rev-parse HEAD~1)")
for ref in "${refs[@]}"; do
  buf breaking --against ".git#ref=$ref"
  echo "buf breaking: compatible with $ref"
done
