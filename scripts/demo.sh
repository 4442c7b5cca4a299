#!/usr/bin/env bash
# Set up, build, then run the demo program (it has a heap overflow) under
# heapguard: print its report, then decode the dump it left.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

out=$(mktemp -d /tmp/heapguard-demo.XXXXXX)
echo
echo "== running build/heapguard-demo under heapguard (dumps go to $out)"
HEAPGUARD_OPTIONS="dump_dir=$out" LD_PRELOAD="$PWD/build/libheapguard.so" \
  build/heapguard-demo
echo "== the program ended with status $? (134: aborted by heapguard's report)"

dump=$(ls "$out"/*.hgdump 2>/dev/null | head -n 1)
if [ -z "$dump" ]; then
  echo "no dump was written" >&2
  exit 1
fi
echo
echo "== decoding $dump with heapguard-inspect"
build/tools/heapguard-inspect "$dump"
status=$?
# Exit status 1 means the dump was read and the damage was found.
[ "$status" -le 1 ]
