#!/usr/bin/env bash
# The whole check, as CI runs it: lint, format, types, layering, then the test suite (last, so its summary closes).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VIRTUAL_ENV:-.venv}/bin"
"$BIN/ruff" check src tests bench job
"$BIN/ruff" format --check src tests bench job
"$BIN/mypy" --strict src
"$BIN/lint-imports"
exec "$BIN/pytest" -n 2 --dist loadfile "$@"
