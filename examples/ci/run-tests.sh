#!/bin/sh
# run-tests.sh - run a CMake project's ctest suite under heapguard and
# collect what heapguard found.
#
#   examples/ci/run-tests.sh BUILD_DIR OUT_DIR [ctest args...]
#
# Every process ctest starts inherits LD_PRELOAD and HEAPGUARD_OPTIONS from
# the heapguard command, so each test that corrupts its heap fails with a
# report in OUT_DIR/logs/heapguard.PID and, where heap metadata was damaged,
# a dump in OUT_DIR/dumps, decoded next to it as DUMP.txt and DUMP.html.
# Exit status: ctest's (nonzero when a test failed), or 125 when heapguard
# could not run ctest. HEAPGUARD names the heapguard command (default: the
# one in PATH), CTEST the ctest command.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR OUT_DIR [ctest args...]" >&2
  exit 2
fi
build=$1 out=$2
shift 2
heapguard=${HEAPGUARD:-heapguard}
ctest=${CTEST:-ctest}

out=$(mkdir -p "$out" && cd "$out" && pwd) || exit 2
rm -rf "$out/logs" "$out/dumps"

status=0
(cd "$build" && "$heapguard" --log "$out/logs" --dumps "$out/dumps" \
  -- "$ctest" --output-on-failure "$@") || status=$?

# What heapguard reported: one file per process that had a report.
for log in "$out"/logs/heapguard.*; do
  [ -f "$log" ] || continue
  echo "---- heapguard report: $log"
  cat "$log"
done
for dump in "$out"/dumps/*.hgdump; do
  [ -f "$dump" ] || continue
  echo "---- heapguard dump: $dump (decoded in $dump.txt, $dump.html)"
  "$heapguard" inspect --html "$dump.html" "$dump" >"$dump.txt"
done
exit "$status"
