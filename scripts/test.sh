#!/usr/bin/env bash
# Set up (installing missing packages), build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
HEAPGUARD_TEST_PACKAGES=1 bash scripts/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)"
