#!/usr/bin/env bash
# Builds Ganymede's base image locally, without pulling anything: every image the builder makes starts FROM it.
#
#   scripts/make-base-image.sh <image-name>      e.g. ganymede/base:bookworm or 127.0.0.1:5000/ganymede/base:bookworm
#
# The contract (the builder's generated Dockerfiles rely on exactly this): Debian bookworm with a usable apt-get,
# python3 + venv + pip, git, ca-certificates and tini; no Jupyter, no user account.
#
# How: `debootstrap --variant=minbase bookworm` from the Debian mirror this machine uses (or $DEBIAN_MIRROR), apt
# caches removed, `docker import` as ganymede/debootstrap:bookworm-minbase, then a small Dockerfile on top, built by
# the engine. The host's extra CA certificates (/usr/local/share/ca-certificates/*.crt, e.g. a TLS-inspecting proxy's)
# go into the image so that pip and git inside containers trust what the host trusts; $http_proxy & co. are passed
# to debootstrap and to the build (not stored in the image).
#
# Idempotent: does nothing when <image-name> exists; reuses the imported root filesystem when only the last step is
# missing. Needs root (debootstrap), debootstrap and a running Docker engine (`docker` on PATH, $DOCKER to override).
set -euo pipefail

image=${1:?usage: make-base-image.sh <image-name>}
suite=bookworm
rootfs_image=ganymede/debootstrap:$suite-minbase
docker=${DOCKER:-docker}
log() { printf '\033[1m[base-image]\033[0m %s\n' "$*" >&2; }

if "$docker" image inspect "$image" >/dev/null 2>&1; then
  log "$image exists"
  exit 0
fi

# The first URI of the system's Debian sources (deb822 .sources or one-line .list) serving <suite>.
debian_uri() {
  local files=() f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [[ -f $f ]] && files+=("$f")
  done
  (( ${#files[@]} )) || return 0
  awk -v suite="$1" '
    function flush() { if (uri != "" && ok) { print uri; found = 1; exit } uri = ""; ok = 0 }
    FNR == 1 || /^[[:space:]]*$/ { flush() }
    /^URIs:/   { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
    /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) == suite) { print $i; found = 1; exit } break } }
    END { if (!found) flush() }
  ' "${files[@]}"
}
mirror=${DEBIAN_MIRROR:-$(debian_uri "$suite")}
mirror=${mirror:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-$(debian_uri "$suite-security")}
security=${security:-http://deb.debian.org/debian-security}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/ganymede-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! "$docker" image inspect "$rootfs_image" >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || { log "debootstrap needs root"; exit 1; }
  command -v debootstrap >/dev/null || [[ -x /usr/sbin/debootstrap ]] || {
    log "debootstrap is missing: apt-get install debootstrap"; exit 1; }
  log "debootstrap --variant=minbase $suite from $mirror (about 20 s)"
  PATH=$PATH:/usr/sbin:/sbin debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  root=$work/rootfs
  # The same sources the host uses, so apt-get inside images gets updates and security fixes.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # As in Debian's official images: no package caches kept in layers, no services started by apt in a build.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*
  log "docker import $rootfs_image"
  tar --numeric-owner --xattrs -C "$root" -c . | "$docker" import --change 'CMD ["bash"]' - "$rootfs_image" >/dev/null
  rm -rf "$root"
fi

mkdir -p "$work/context/extra-ca"
shopt -s nullglob
for crt in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
  cp "$crt" "$work/context/extra-ca/"
done
cat >"$work/context/Dockerfile" <<EOF
FROM $rootfs_image
ENV LANG=C.UTF-8
# For this build only (an ENV would stay in every server's terminal); images built FROM this one set their own.
ARG DEBIAN_FRONTEND=noninteractive
# Before ca-certificates is installed: its postinst adds them to /etc/ssl/certs/ca-certificates.crt.
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates git tini \\
 && rm -rf /var/lib/apt/lists/*
# Debian's pip (also in new venvs) and current pip from PyPI (truststore) use the system's CAs, extra ones included;
# requests from PyPI and older pips use certifi's own bundle, without them, unless pointed at the system's.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.title="Ganymede base image" \\
      org.opencontainers.image.description="Debian $suite (debootstrap minbase) + python3, venv, pip, git, ca-certificates, tini"
CMD ["bash"]
EOF
log "building $image"
proxy_args=()
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [[ -n ${!var:-} ]] && proxy_args+=(--build-arg "$var=${!var}")
done
# The classic builder: BuildKit needs buildx, which Debian's docker.io and the engine here do not have.
DOCKER_BUILDKIT=0 "$docker" build --quiet --tag "$image" "${proxy_args[@]}" "$work/context" >"$work/build.log" 2>&1 || {
  tail -n 30 "$work/build.log" >&2; exit 1; }
log "$image ready"
