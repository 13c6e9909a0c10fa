#!/usr/bin/env bash
# Builds the Helm chart's images with a Docker engine (`docker` on PATH, $DOCKER to override), tagged with the hub's
# version (server/src/version.ts):
#
#   scripts/images.sh hub [docker build options…]          ganymede/hub:<version>         images/hub/Dockerfile
#   scripts/images.sh singleuser [docker build options…]   ganymede/singleuser:<version>  images/singleuser/Dockerfile
#
# The Dockerfiles name public base images; pass others with --build-arg (NODE_IMAGE, NODE_BUILD_IMAGE, BUILDKIT_IMAGE,
# KUBECTL_IMAGE for the hub; BASE_IMAGE for the single-user image), as the chart's test does with images made on
# this machine (server/test/support/chart-images.ts). $IMAGE_REPOSITORY replaces the "ganymede/" prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?usage: scripts/images.sh hub|singleuser [docker build options…]}
shift
[[ $which == hub || $which == singleuser ]] || { echo "scripts/images.sh: unknown image $which (hub, singleuser)" >&2; exit 1; }
version=$(sed -n 's/^export const GANYMEDE_VERSION = "\(.*\)";$/\1/p' server/src/version.ts)
tag=${IMAGE_REPOSITORY:-ganymede/}$which:$version
"${DOCKER:-docker}" build --file "images/$which/Dockerfile" --tag "$tag" "$@" .
echo "$tag"
