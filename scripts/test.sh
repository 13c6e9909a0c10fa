#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
pnpm test
