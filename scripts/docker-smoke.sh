#!/usr/bin/env bash
# With a Docker engine (`make smoke`): what test/e2e/image.test.ts cannot check
# without one. Builds the image, then on a network of its own:
#   - the server container turns healthy (its HEALTHCHECK) with tini as PID 1 and
#     the app as uid 1000;
#   - a chat-tui container sends a message and another one receives it, by the
#     server's container name;
#   - `docker stop` drains the server, which exits 0.
# Usage: scripts/docker-smoke.sh [--no-build] [IMAGE]   (default IMAGE chat-grpc:local)
set -euo pipefail
build=1
if [ "${1:-}" = --no-build ]; then build=0; shift; fi
image=${1:-chat-grpc:local}
run=chat-smoke-$$
server=$run-server
listener=$run-listener

step() { printf '\n== %s\n' "$*"; }
fail() {
  printf '\nFAILED: %s\n' "$*" >&2
  docker logs "$server" 2>&1 | tail -20 >&2 || true
  exit 1
}
cleanup() {
  docker rm -f "$server" "$listener" >/dev/null 2>&1 || true
  docker network rm "$run" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Polls "$@" once a second until it prints $want, for at most $1 seconds.
wait_for() {
  local seconds=$1 want=$2; shift 2
  for _ in $(seq "$seconds"); do
    [ "$("$@" 2>/dev/null)" = "$want" ] && return 0
    sleep 1
  done
  return 1
}

# Whether container $1's output has a line matching $2: prints yes or no.
logged() { if docker logs "$1" 2>&1 | grep -- "$2" >/dev/null; then echo yes; else echo no; fi; }

if [ "$build" = 1 ]; then
  step "docker build -t $image ."
  docker build -t "$image" .
fi

docker network create "$run" >/dev/null
step "server: start, and wait for the health check"
docker run -d --name "$server" --network "$run" "$image" >/dev/null
wait_for 60 healthy docker inspect -f '{{.State.Health.Status}}' "$server" || fail "the server never turned healthy"
echo "healthy: $(docker inspect -f '{{(index .State.Health.Log 0).Output}}' "$server" | tr -d '\n')"
[ "$(docker exec "$server" cat /proc/1/comm)" = tini ] || fail "PID 1 is not tini"
# The server is tini's child; its real uid is the first number of the Uid: line.
app_uid=$(docker exec "$server" sh -c 'read -r child _ < /proc/1/task/1/children; grep "^Uid:" "/proc/$child/status"' | awk '{print $2}')
[ "$app_uid" = 1000 ] || fail "the app runs as uid $app_uid, not 1000"
echo "PID 1 is tini; the app runs as uid 1000"

step "chat: one chat-tui container sends, another receives"
# -i keeps the listener's stdin open, so it stays in the room until removed.
docker run -d -i --name "$listener" --network "$run" -e CHAT_GRPC_HOST="$server" "$image" \
  node bin/chat-tui.js --plain --name Listener --room smoke >/dev/null
wait_for 30 yes logged "$listener" 'Listener joined' || fail "the listener never joined"
sent=$(echo "hello from a container" | docker run --rm -i --network "$run" -e CHAT_GRPC_HOST="$server" "$image" \
  node bin/chat-tui.js --plain --name Sender --room smoke)
echo "$sent" | grep -q '#smoke <Sender> hello from a container' || fail "the sender did not see its own message: $sent"
wait_for 15 yes logged "$listener" '<Sender> hello from a container' || fail "the listener did not receive the message"
echo "received: $(docker logs "$listener" 2>&1 | grep '<Sender>')"

step "stop: SIGTERM drains, exit 0"
docker stop "$server" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$server")
[ "$code" = 0 ] || fail "the server exited $code"
docker logs "$server" 2>&1 | grep -q '"event":"drain_end"' || fail "no drain_end in the server's log"
echo "exit code 0 after drain_end"

printf '\nsmoke test passed: %s\n' "$image"
