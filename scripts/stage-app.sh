#!/usr/bin/env bash
# Lays out the app as the container runs it, in the folder given: exactly the
# files `npm pack` ships (package.json "files"), plus package-lock.json so the
# runtime stage installs the same production dependencies we test with.
# The Dockerfile's build stage runs it, and so does the image smoke test
# (test/e2e/image.test.ts), so the two cannot drift apart.
set -euo pipefail
dest=${1:?usage: scripts/stage-app.sh DEST}
packed=$(mktemp -d)
trap 'rm -rf "$packed"' EXIT
npm pack --silent --pack-destination "$packed" >/dev/null
mkdir -p "$dest"
tar -xzf "$packed"/*.tgz -C "$dest" --strip-components=1
cp package-lock.json "$dest/"
