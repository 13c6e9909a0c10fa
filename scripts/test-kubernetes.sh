#!/usr/bin/env bash
# The Kubernetes backends' suite, on a real single-node cluster: sets up the project (scripts/setup.sh), starts the
# test cluster (scripts/test-cluster.sh: built once into a cache, ~20 min on a fresh machine, seconds after that),
# runs server/test/kubernetes/ against it (the Helm chart's install among them), and stops the cluster whatever the
# outcome. CI runs it after scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
# helm for the chart's test (built once into a cache by scripts/chart.sh, like the cluster's binaries).
scripts/chart.sh tools
export GANYMEDE_HELM
GANYMEDE_HELM=$(scripts/chart.sh env | sed -n 's/^HELM=\([^ ]*\).*/\1/p')
trap 'scripts/test-cluster.sh down' EXIT
scripts/test-cluster.sh up
export GANYMEDE_TEST_KUBECONFIG GANYMEDE_K8S_BIN
GANYMEDE_TEST_KUBECONFIG=$(scripts/test-cluster.sh env | sed -n 's/^KUBECONFIG=//p')
GANYMEDE_K8S_BIN=$(scripts/test-cluster.sh env | sed -n 's/^GANYMEDE_K8S_BIN=//p')
(cd server && pnpm exec vitest run --config vitest.kubernetes.config.ts "$@")
