#!/usr/bin/env bash
# Install what building and testing heapguard needs, when it is missing,
# then configure and build into ./build. Used by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# libiberty-dev: the C++ demangler linked in (src/demangler.h); binutils:
# addr2line, which gives reports their file:line (src/symbolizer.h), and
# readelf, objcopy and strip for the tests of heapguard symbolize.
packages=(cmake make gcc g++ pkg-config libunwind-dev libiberty-dev binutils libcmocka-dev python3)
if [ "${HEAPGUARD_TEST_PACKAGES:-0}" = 1 ] && [ -f tests/real/packages.txt ]; then
  while read -r pkg; do
    [ -n "$pkg" ] && [ "${pkg#\#}" = "$pkg" ] && packages+=("$pkg")
  done < tests/real/packages.txt
fi
if [ "${HEAPGUARD_TEST_PACKAGES:-0}" = 1 ]; then
  # tests/cli: the inspector's HTML page in headless Chromium (about 80 s to
  # install), shellcheck, PyYAML to run examples/ci/heapguard.yml's steps.
  packages+=(chromium shellcheck python3-yaml)
  # The libFuzzer targets (allocator operations, corruptions, dumps), and
  # tests/cli other_builds.
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# shellcheck disable=SC2086  # HEAPGUARD_CMAKE_ARGS is a list of words on purpose
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo ${HEAPGUARD_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
