#!/usr/bin/env bash
# The demo of README's first command: the example project's whole cycle on the embedded sandbox, no AWS account.
# sandbox up → validate → deploy → plan (nothing left to do) → destroy → sandbox down.
set -euo pipefail
cd "$(dirname "$0")/.."
BATCHCTL="${BATCHCTL:-${VIRTUAL_ENV:-.venv}/bin/batchctl}"
PORT="${BATCHCTL_SANDBOX_PORT:-$("${VIRTUAL_ENV:-.venv}/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
LOG="$(mktemp -t batchctl-sandbox.XXXXXX.log)"

step() { printf '\n\033[1m$ batchctl %s\033[0m\n' "$*"; }

"$BATCHCTL" sandbox --port "$PORT" >"$LOG" 2>&1 &
SANDBOX_PID=$!
trap 'kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
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
step deploy --yes --skip-image
"$BATCHCTL" deploy --yes --skip-image
step plan --check
"$BATCHCTL" plan --check
step destroy --yes
"$BATCHCTL" destroy --yes
step "plan  (after destroy: everything would be created again)"
"$BATCHCTL" plan -q | tail -1
printf '\ndemo finished: the sandbox stops now.\n'
