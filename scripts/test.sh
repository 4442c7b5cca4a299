#!/usr/bin/env bash
# Set up (installing missing packages), build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# The fuzz targets run 60 s each as part of the suite.
HEAPGUARD_TEST_PACKAGES=1 HEAPGUARD_CMAKE_ARGS="-DHEAPGUARD_FUZZ=ON ${HEAPGUARD_CMAKE_ARGS:-}" \
  bash scripts/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)"
