#!/usr/bin/env bash
# What Binder launches need on one machine, for `scripts/start.sh --binder`:
#
#   scripts/binder-services.sh up     installs what is missing from Debian (docker.io, docker-registry, debootstrap,
#                                     git), starts the Docker engine and a registry on 127.0.0.1 when they do not
#                                     answer, makes the base image and the servers' JupyterLab image once, and writes
#                                     the hub's settings to <state>/hub.env
#   scripts/binder-services.sh down   stops what `up` started (an engine or registry that was already running stays)
#
# No systemd is assumed: both run in the background with their logs and PID files in the state folder,
# ${GANYMEDE_BINDER_DIR:-.data/binder}. Images (in the engine's /var/lib/docker) and the registry's storage (in the
# state folder) persist, so a second `up` takes seconds. The registry listens on 127.0.0.1:${GANYMEDE_BINDER_REGISTRY_PORT:-5000}.
# Every failure says what went wrong and what to do; plain scripts/start.sh (local servers, no Binder) is unaffected.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${GANYMEDE_BINDER_DIR:-$PWD/.data/binder}
port=${GANYMEDE_BINDER_REGISTRY_PORT:-5000}
socket=/var/run/docker.sock
base_image=ganymede/base:bookworm
log() { printf '\033[1m[binder]\033[0m %s\n' "$*" >&2; }
fail() {
  printf '\033[1;31m[binder] cannot set up Binder launches:\033[0m %s\n' "$1" >&2
  printf '[binder] %s\n' "${2:-Plain scripts/start.sh still starts the hub with local servers, without Binder launches.}" >&2
  exit 1
}

# Answers 200 (or whatever the status is) for a URL, 000 when nothing answers. Python: curl may not be installed.
http_status() {
  python3 - "$1" <<'PY' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
engine_answers() { [[ -S $socket ]] && docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
registry_answers() { [[ $(http_status "http://127.0.0.1:$port/v2/") == 200 ]]; }

# Waits up to $1 seconds for `$2` to succeed while the process $3 lives.
wait_for() {
  local seconds=$1 check=$2 pid=$3
  for ((i = 0; i < seconds * 5; i++)); do
    "$check" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# Starts "$@" in the background, detached from this shell's session (it outlives `up`), logging to $log.
start_daemon() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
}

up() {
  [[ $(id -u) == 0 ]] || fail "the Docker engine and the size-limited volumes of servers need root (this is uid $(id -u))." \
    "Run it as root, or use plain scripts/start.sh (local servers, without Binder launches)."
  [[ -e /sys/fs/cgroup/cgroup.controllers || -d /sys/fs/cgroup/memory ]] ||
    fail "no cgroup filesystem at /sys/fs/cgroup: the Docker engine cannot run containers without it." \
      "Mount cgroups (a container needs --privileged or a cgroup namespace), or use plain scripts/start.sh."
  mkdir -p "$state"
  chmod 700 "$state"

  local missing=()
  [[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] || missing+=(docker.io)
  [[ -x /usr/bin/docker-registry ]] || missing+=(docker-registry)
  [[ -x /usr/sbin/debootstrap ]] || missing+=(debootstrap)
  command -v git >/dev/null || missing+=(git)
  if (( ${#missing[@]} )); then
    log "installing from Debian: ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      fail "apt-get could not install ${missing[*]}." "Install them by hand, or use plain scripts/start.sh."
  fi

  if engine_answers; then
    log "Docker engine: reusing the one answering at $socket"
  else
    log "starting the Docker engine (log: $state/dockerd.log)"
    # Not its init script: that raises a ulimit root may not raise in containers.
    start_daemon dockerd "$state/dockerd.log" /usr/sbin/dockerd --host "unix://$socket"
    wait_for 60 engine_answers "$(cat "$state/dockerd.pid")" || {
      tail -n 15 "$state/dockerd.log" >&2
      rm -f "$state/dockerd.pid"
      fail "the Docker engine did not start (its last log lines are above)."
    }
  fi

  if registry_answers; then
    log "registry: reusing the one answering at 127.0.0.1:$port"
  else
    [[ $(http_status "http://127.0.0.1:$port/") == 000 ]] ||
      fail "127.0.0.1:$port answers, but not as a registry." "Set GANYMEDE_BINDER_REGISTRY_PORT to a free port."
    log "starting the registry on 127.0.0.1:$port (storage: $state/registry)"
    mkdir -p "$state/registry"
    cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
EOF
    start_daemon registry "$state/registry.log" /usr/bin/docker-registry serve "$state/registry.yml"
    wait_for 15 registry_answers "$(cat "$state/registry.pid")" || {
      tail -n 15 "$state/registry.log" >&2
      rm -f "$state/registry.pid"
      fail "the registry did not start (its last log lines are above)."
    }
  fi

  if ! docker image inspect "$base_image" >/dev/null 2>&1; then
    log "making the base image $base_image once (Debian bookworm from the mirror; about a minute)"
  fi
  scripts/make-base-image.sh "$base_image" || fail "the base image could not be made (see above)."

  # The image of servers started from Home (not launched from a repository): JupyterLab on the base image, user
  # jovyan (uid 1000), the versions of scripts/requirements.txt. Tagged by its Dockerfile's hash: built once.
  local pins dockerfile tag
  pins=$(grep -E '^(jupyterlab|jupyter-server|ipykernel)==' scripts/requirements.txt | tr '\n' ' ')
  dockerfile="FROM $base_image
RUN useradd --create-home --uid 1000 --shell /bin/bash jovyan \\
 && python3 -m venv /srv/venv \\
 && /srv/venv/bin/pip install --no-cache-dir --disable-pip-version-check $pins \\
 && chown -R 1000:1000 /srv/venv
ENV PATH=/srv/venv/bin:\$PATH
USER 1000
WORKDIR /home/jovyan
"
  tag=ganymede/jupyterlab:$(printf '%s%s' "$dockerfile" "$(docker image inspect --format '{{.Id}}' "$base_image")" | sha256sum | cut -c1-12)
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "server image: $tag"
  else
    log "building the server image $tag once (JupyterLab from PyPI; about a minute)"
    local context
    context=$(mktemp -d)
    printf '%s' "$dockerfile" >"$context/Dockerfile"
    docker build -t "$tag" "$context" >&2 || { rm -rf "$context"; fail "the server image could not be built (see above)."; }
    rm -rf "$context"
  fi

  cat >"$state/hub.env" <<EOF
GANYMEDE_SPAWNER__BACKEND=docker
GANYMEDE_SPAWNER__DOCKER__IMAGE=$tag
GANYMEDE_SPAWNER__DOCKER__COMMAND='["jupyter","lab"]'
GANYMEDE_BUILDER__ENABLED=true
GANYMEDE_BUILDER__REGISTRY__URL=http://127.0.0.1:$port
EOF
  log "ready: the hub runs servers as containers and launches repositories (settings in $state/hub.env)"
}

down() {
  local name pid
  for name in registry dockerd; do
    [[ -f $state/$name.pid ]] || continue
    pid=$(cat "$state/$name.pid")
    rm -f "$state/$name.pid"
    kill -0 "$pid" 2>/dev/null || continue
    log "stopping the $name this script started (PID $pid)"
    kill -TERM "$pid"
    # dockerd stops its containers first (servers keep their volumes); give it the time it needs.
    for ((i = 0; i < 300; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
