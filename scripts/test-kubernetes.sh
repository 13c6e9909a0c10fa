#!/usr/bin/env bash
# The Kubernetes backends' suite, on a real single-node cluster: sets up the project (scripts/setup.sh), starts the
# test cluster (scripts/test-cluster.sh: built once into a cache, ~20 min on a fresh machine, seconds after that),
# runs server/test/kubernetes/ against it, and stops the cluster whatever the outcome. CI runs it after scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
trap 'scripts/test-cluster.sh down' EXIT
scripts/test-cluster.sh up
export GANYMEDE_TEST_KUBECONFIG GANYMEDE_K8S_BIN
GANYMEDE_TEST_KUBECONFIG=$(scripts/test-cluster.sh env | sed -n 's/^KUBECONFIG=//p')
GANYMEDE_K8S_BIN=$(scripts/test-cluster.sh env | sed -n 's/^GANYMEDE_K8S_BIN=//p')
(cd server && pnpm exec vitest run --config vitest.kubernetes.config.ts "$@")
