#!/usr/bin/env bash
# The hub's RSS under V8 and malloc settings (docs/benchmarks.md, "Memory"): for each setting, a fresh hub (SQLite,
# no servers) is weighed idle, right after 10,000 users are created (100 per request), and 10 s later. What
# server/bin/ganymede sets was chosen from this. Usage: bench/memory-flags.sh ["<node options>|<env>" …]
set -euo pipefail
cd "$(dirname "$0")/.."
settings=("$@")
(( ${#settings[@]} )) || settings=("|" "|MALLOC_ARENA_MAX=2" "--max-semi-space-size=1|MALLOC_ARENA_MAX=2" "--max-semi-space-size=4|MALLOC_ARENA_MAX=2" "--max-semi-space-size=8|MALLOC_ARENA_MAX=2" "--max-semi-space-size=4 --optimize-for-size|MALLOC_ARENA_MAX=2")
work=$(mktemp -d)
trap 'pkill -f "$work/ganymede.yaml" || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/ganymede.yaml" <<YAML
hub: { bind: "http://127.0.0.1:$port", dataDir: "$work/data" }
policies: { dir: "$PWD/policies" }
culler: { enabled: false }
logging: { level: warn }
YAML
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
echo "| node options | environment | idle MiB | after 10,000 users MiB | 10 s later MiB | creating them (s) |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for setting in "${settings[@]}"; do
  flags=${setting%%|*}; envs=${setting#*|}
  rm -rf "$work/data"
  # shellcheck disable=SC2086
  env $envs node $flags server/dist/cli.js --config "$work/ganymede.yaml" start >"$work/hub.log" 2>&1 &
  hub=$!
  until curl -sf "http://127.0.0.1:$port/hub/health" >/dev/null; do sleep 0.2; done
  sleep 3
  idle=$(rss $hub)
  token=$(node server/dist/cli.js --config "$work/ganymede.yaml" token create --user admin 2>/dev/null | tail -1)
  start=$(date +%s.%N)
  for ((i = 0; i < 10000; i += 100)); do
    names=$(seq -f "\"u%05g\"" $((i + 1)) $((i + 100)) | paste -sd,)
    curl -sf -X POST -H "authorization: token $token" -H "content-type: application/json" \
      -d "{\"usernames\": [$names]}" "http://127.0.0.1:$port/hub/api/users" >/dev/null
  done
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  after=$(rss $hub)
  sleep 10
  echo "| ${flags:-(none)} | ${envs:-(none)} | $idle | $after | $(rss $hub) | $(printf %.1f "$seconds") |"
  kill $hub; wait $hub || true
done
