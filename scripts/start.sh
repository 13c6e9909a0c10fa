#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and starts the hub on the embedded default:
# SQLite in ./.data, servers as local processes, http://127.0.0.1:8000.
#
#   scripts/start.sh --binder   the same, with Binder launches: servers run as containers of a Docker engine and
#                               repositories are built into images kept in a registry on 127.0.0.1
#                               (scripts/binder-services.sh sets both up; what it started stops with the hub)
set -euo pipefail
cd "$(dirname "$0")/.."
binder=false
if [[ "${1:-}" == --binder ]]; then
  binder=true
  shift
fi
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
if ! $binder; then
  exec server/bin/ganymede start "$@"
fi
scripts/binder-services.sh up
set -a
. "${GANYMEDE_BINDER_DIR:-$PWD/.data/binder}/hub.env"
set +a
trap 'scripts/binder-services.sh down' EXIT
trap 'kill -TERM "$hub" 2>/dev/null' INT TERM
server/bin/ganymede start "$@" &
hub=$!
# `wait` returns early when a trapped signal arrives: then wait again for the hub to finish its shutdown.
status=0
wait "$hub" || status=$?
if kill -0 "$hub" 2>/dev/null; then wait "$hub" || status=$?; fi
exit "$status"
