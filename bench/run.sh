#!/usr/bin/env bash
# Ganymede vs JupyterHub 5 + configurable-http-proxy, in one run (see docs/benchmarks.md); `bench/run.sh isolation`
# compares spawns with and without user isolation instead, `bench/run.sh stops` stopping thousands of servers at once,
# `bench/run.sh kubernetes` the Kubernetes backend beside KubeSpawner on the test cluster (scripts/test-cluster.sh),
# `bench/run.sh policy` the policy engine with 100 policies and 10,000 users, `bench/run.sh audit` the audit trail
# with 100,000 events, `bench/run.sh proxy` the proxy alone against configurable-http-proxy with a fast upstream,
# `bench/run.sh restart` a hub killed and started again with 2,000 servers running.
# Run by hand, not in CI: it takes ~15 minutes on 2 cores (`stops`: up to an hour), starts a few hundred Jupyter
# servers and rewrites the results block of docs/benchmarks.md (`isolation` and `stops` print theirs).
# Everything it installs goes to bench/.cache/ (git-ignored); every process it starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=bench/.cache
log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

# Measure the checkout as it is: (re)build when the compiled hub is missing or older than its sources.
if [[ ! -f server/dist/cli.js ]] ||
  [[ -n $(find server/src prisma -path server/src/generated -prune -o -type f -newer server/dist/cli.js -print -quit) ]]; then
  log "server/dist is missing or older than server/src: running scripts/setup.sh"
  scripts/setup.sh
fi

# `bench/run.sh policy`: decide(), explain() and `policy diff` with 100 policies and 10,000 users (bench/policy.ts;
# pure functions, nothing to compare against: JupyterHub has no policy engine).
if [[ "${1:-}" == policy ]]; then
  cd server && exec node --import tsx ../bench/policy.ts
fi
# `bench/run.sh audit`: the audit trail with 100,000 events written 2,000 at a time, then queried (bench/audit.ts).
if [[ "${1:-}" == audit ]]; then
  cd server && exec node --import tsx ../bench/audit.ts
fi

# One venv for both hubs, so both run the very same Jupyter server: the project's pinned jupyter-server and
# JupyterLab (scripts/requirements.txt) plus the newest JupyterHub 5.x.
pins=$(grep -E '^(jupyter-server|jupyterlab)==' scripts/requirements.txt)
have=$("$cache/venv/bin/pip" freeze 2>/dev/null | tr 'A-Z_' 'a-z-' || true)
stale=0; [[ -x $cache/venv/bin/jupyterhub ]] || stale=1
for pin in $pins; do grep -qxF "$pin" <<<"$have" || stale=1; done
if [[ $stale == 1 ]]; then
  log "creating $cache/venv: jupyterhub==5.* + $(echo $pins)"
  python=/usr/bin/python3; [[ -x $python ]] || python=python3
  rm -rf "$cache/venv"
  "$python" -m venv "$cache/venv"
  # shellcheck disable=SC2086
  "$cache/venv/bin/pip" install --quiet --disable-pip-version-check "jupyterhub==5.*" $pins
fi

# configurable-http-proxy is what JupyterHub runs by default; autocannon generates the load. Both from npm, outside
# the workspace (they are the benchmark's tools, not the project's dependencies).
[[ -x $cache/chp/node_modules/.bin/configurable-http-proxy ]] ||
  npm install --prefix "$cache/chp" --no-audit --no-fund --loglevel=error configurable-http-proxy@5
[[ -f $cache/autocannon/node_modules/autocannon/autocannon.js ]] ||
  npm install --prefix "$cache/autocannon" --no-audit --no-fund --loglevel=error autocannon@8

# `bench/run.sh proxy`: Ganymede's proxy and configurable-http-proxy alone, each in front of the same fast upstream
# (bench/proxy.ts; about two minutes).
if [[ "${1:-}" == proxy ]]; then
  cd server && exec node --import tsx ../bench/proxy.ts
fi

# `bench/run.sh isolation`: what user isolation costs a spawn, against the build before it (bench/isolation.mjs).
if [[ "${1:-}" == isolation ]]; then
  rev=${BENCH_BASELINE_REV:-474d5f3}   # the last build whose servers ran as root
  baseline=$cache/baseline-$rev
  if [[ ! -f $baseline/server/dist/cli.js ]]; then
    log "building the baseline $rev in $baseline"
    rm -rf "$baseline"; git worktree prune
    git worktree add --detach "$baseline" "$rev" >/dev/null
    (cd "$baseline" && npm_config_nodedir=/usr pnpm install --frozen-lockfile --reporter=silent &&
      pnpm --filter @ganymede/server run generate >/dev/null && pnpm --filter @ganymede/server run build >/dev/null)
  fi
  BENCH_BASELINE=$PWD/$baseline exec node bench/isolation.mjs
fi

# `bench/run.sh kubernetes`: spawn overhead, API requests and memory with 100 pods, Ganymede beside JupyterHub with
# KubeSpawner (bench/kubernetes.ts; KubeSpawner in a venv of its own, so that the other runs' venv stays as it is).
if [[ "${1:-}" == kubernetes ]]; then
  if [[ ! -x $cache/kubespawner-venv/bin/jupyterhub ]]; then
    log "creating $cache/kubespawner-venv: jupyterhub==5.* + jupyterhub-kubespawner==7.*"
    rm -rf "$cache/kubespawner-venv"
    /usr/bin/python3 -m venv "$cache/kubespawner-venv"
    "$cache/kubespawner-venv/bin/pip" install --quiet --disable-pip-version-check "jupyterhub==5.*" "jupyterhub-kubespawner==7.*"
  fi
  trap "$PWD/scripts/test-cluster.sh down" EXIT
  scripts/test-cluster.sh up
  cd server
  GANYMEDE_TEST_KUBECONFIG=$PWD/../.data/k8s/admin.kubeconfig node --import tsx ../bench/kubernetes.ts
  exit
fi

# `bench/run.sh restart`: a hub killed and started again with 2,000 servers running, both hubs (bench/restart.mjs).
if [[ "${1:-}" == restart ]]; then
  exec node bench/restart.mjs
fi

# `bench/run.sh stops`: stopping thousands of servers at once, both hubs with a stand-in server (bench/stops.mjs).
if [[ "${1:-}" == stops ]]; then
  exec node bench/stops.mjs
fi

exec node bench/bench.mjs "$@"
