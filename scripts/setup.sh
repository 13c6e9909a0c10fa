#!/usr/bin/env bash
# Installs everything Ganymede needs on a fresh machine, idempotently: pnpm, the Node workspace, a Python
# virtualenv with JupyterLab (the single-user servers), the generated Prisma clients and the compiled hub; as root,
# also Debian's bubblewrap (the sandbox each user's server runs in).
# With --for-tests, also what only the tests use: Debian's PostgreSQL server, Chromium, OpenLDAP, Samba (an AD DC),
# and the Docker engine, a registry and debootstrap (the Docker spawner and builder tests make their own base image).
set -euo pipefail
for_tests=false
[[ "${1:-}" == "--for-tests" ]] && for_tests=true
cd "$(dirname "$0")/.."
export npm_config_nodedir=${npm_config_nodedir:-/usr}   # better-sqlite3 compiles against the system's Node headers

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! command -v pnpm >/dev/null || [[ "$(pnpm --version)" != 10.* ]]; then
  log "installing pnpm 10"
  npm install -g pnpm@10 >/dev/null
fi

log "installing Node packages"
pnpm install --frozen-lockfile --reporter=append-only | tail -n 3

if [[ ! -x .venv/bin/jupyter ]] || ! .venv/bin/python -c 'import jupyterlab, jupyterhub_idle_culler' 2>/dev/null; then
  log "creating .venv with JupyterLab (PyPI)"
  python=/usr/bin/python3; [[ -x $python ]] || python=python3
  "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
fi

# From Debian, in one apt transaction (apt does not start these services): the servers' sandbox when the hub will
# run as root (which it needs to give every user a uid of their own), and what only the tests use.
missing=()
if [[ $(id -u) == 0 ]]; then
  [[ -x /usr/bin/bwrap ]] || missing+=(bubblewrap)                    # spawner.local.sandbox
fi
if $for_tests; then
  if ! command -v postgres >/dev/null && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    missing+=(postgresql)                         # the PostgreSQL store tests
  fi
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)   # the browser tests
  [[ -x /usr/sbin/slapd && -x /usr/bin/ldapadd ]] || missing+=(slapd ldap-utils)   # LDAP sign-in
  command -v samba-tool >/dev/null || missing+=(samba winbind krb5-user)          # Active Directory sign-in
  [[ -x /usr/sbin/dockerd ]] || missing+=(docker.io)                  # the Docker spawner and builder (engine)
  [[ -x /usr/bin/docker-registry ]] || missing+=(docker-registry)     # images pushed to a real registry
  [[ -x /usr/sbin/debootstrap ]] || missing+=(debootstrap)            # scripts/make-base-image.sh
  command -v git >/dev/null || missing+=(git)                         # repositories the builder clones
  [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)                   # the load balancer in front of hub replicas
fi
if (( ${#missing[@]} )); then
  log "installing from Debian: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Only what changed since the last run is regenerated and rebuilt, so that a second start takes seconds.
stale() { # stale <output> <input>...: the output is missing or older than some input
  local out=$1
  shift
  [[ ! -e $out ]] || [[ -n $(find "$@" -newer "$out" -print -quit 2>/dev/null) ]]
}
if stale server/src/generated/sqlite/client.ts prisma || stale server/src/generated/postgresql/client.ts prisma; then
  log "generating Prisma clients"
  pnpm --filter @ganymede/server run generate
fi
if stale server/dist/cli.js server/src server/package.json server/tsconfig.json ||
  stale web/dist/index.html web/src web/index.html web/package.json web/tsconfig.json web/vite.config.ts; then
  log "building"
  pnpm run build
fi
log "ready"
