#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and starts the hub on the embedded default:
# SQLite in ./.data, servers as local processes, http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
exec node server/dist/cli.js start "$@"
