#!/usr/bin/env bash
# The demo of README's first command: the example project's whole cycle on the embedded sandbox, no AWS account.
# sandbox up → validate → deploy → submit --wait --logs → status → logs tail → destroy → sandbox down.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VIRTUAL_ENV:-.venv}"
BATCHCTL="${BATCHCTL:-$VENV/bin/batchctl}"
PORT="${BATCHCTL_SANDBOX_PORT:-$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
LOG="$(mktemp -t batchctl-sandbox.XXXXXX.log)"

step() { printf '\n\033[1m$ batchctl %s\033[0m\n' "$*"; }

# With a Docker engine that can build the example's image, the sandbox's Batch runs the job containers for real.
# Without one (or without network to pull the base image), jobs finish at once without running their container.
SKIP_IMAGE=(--skip-image)
DOCKER=--no-docker
step image build
if "$BATCHCTL" image build 2>"$LOG.build"; then
  SKIP_IMAGE=()
  DOCKER=--docker
  echo "the image built: the sandbox runs the job containers on the local Docker engine"
else
  tail -n 2 "$LOG.build" >&2 || true
  echo "NOTE: the image could not be built here, so the sandbox's Batch jobs finish WITHOUT running their"
  echo "      container: runs succeed, but there is no container output to show. Every other step is real."
fi

"$BATCHCTL" sandbox --port "$PORT" "$DOCKER" ${BATCHCTL_SANDBOX_FLAGS:---strict --time-scale 0.05} >"$LOG" 2>&1 &
SANDBOX_PID=$!
trap 'kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  grep -q "AWS_ENDPOINT_URL" "$LOG" 2>/dev/null && break
  kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$LOG"; echo "the sandbox did not start" >&2; exit 1; }
  sleep 0.2
done
grep -q "AWS_ENDPOINT_URL" "$LOG" || { cat "$LOG"; echo "the sandbox did not start in time" >&2; exit 1; }
cat "$LOG"
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox
unset AWS_PROFILE AWS_SESSION_TOKEN

step validate
"$BATCHCTL" validate
step deploy --yes "${SKIP_IMAGE[@]}"
"$BATCHCTL" deploy --yes "${SKIP_IMAGE[@]}"
step plan
"$BATCHCTL" plan
step submit fibonacci --body '{"n": 30}' --wait --logs
"$BATCHCTL" submit fibonacci --body '{"n": 30}' --wait --logs
step status
"$BATCHCTL" status
step logs tail fibonacci --since 1h
"$BATCHCTL" logs tail fibonacci --since 1h
step destroy --yes
"$BATCHCTL" destroy --yes
step "plan --check   (after destroy: exit 5, everything would be created again)"
set +e
"$BATCHCTL" -q plan --check >/dev/null
code=$?
set -e
echo "exit code $code"
[ "$code" = 5 ]
printf '\ndemo finished: the sandbox stops now.\n'
