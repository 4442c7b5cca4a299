#!/usr/bin/env bash
# run-real.sh - run one real-software workload with and without the heapguard
# preload and compare the results.
#
# usage: run-real.sh LIBRARY PROGRAM [MODE]
#   LIBRARY  path of the preload library (libheapguard.so, or a stand-in such
#            as /usr/lib/x86_64-linux-gnu/libjemalloc.so.2)
#   PROGRAM  name of a workload in workloads/PROGRAM.sh (git, sqlite3, ...)
#   MODE     default  -> HEAPGUARD_OPTIONS unset (the default)
#            guarded  -> HEAPGUARD_OPTIONS=guard_mode=all
#            sampled  -> HEAPGUARD_OPTIONS=guard_mode=sample
#
# The workload is run twice, each time in a fresh temporary directory and a
# clean environment: once plain, once with LD_PRELOAD=LIBRARY.  The test fails
# when the plain run fails, when the exit statuses differ, when the normalised
# stdout or stderr differ, or when the preloaded run's output mentions
# "heapguard" (every allocator report starts with it).
# Exit codes: 0 pass, 1 fail, 77 skipped (a required program is missing), 2 usage.
#
# Environment knobs: REAL_KEEP=1 keeps the temporary directories even on
# success; REAL_TMP=DIR puts them under DIR instead of ${TMPDIR:-/tmp};
# REAL_PRELOAD_ENV="VAR=VALUE ..." adds variables to the preloaded run only
# (e.g. MALLOC_CHECK_=3 for a glibc stand-in, or other HEAPGUARD_OPTIONS).
# Nothing else from the caller's environment reaches the workloads.

set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() { echo "usage: $0 LIBRARY PROGRAM [default|guarded|sampled]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
lib=$1 prog=$2 mode=${3:-default}
workload=$here/workloads/$prog.sh
data=$here/data

case $mode in
  default) options= ;;
  guarded) options=guard_mode=all ;;
  sampled) options=guard_mode=sample ;;
  *) usage ;;
esac
[ -f "$workload" ] || { echo "no workload $workload" >&2; exit 2; }
case $lib in /*) ;; *) lib=$PWD/$lib ;; esac
[ -f "$lib" ] || { echo "FAIL: preload library $lib does not exist" >&2; exit 1; }

# The workloads see only this PATH (no pyenv shims, no user bin dirs).
std_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Each workload lists the programs it needs on "# requires:" lines.
for cmd in $(sed -n 's/^# requires://p' "$workload"); do
  if ! PATH=$std_path command -v "$cmd" >/dev/null 2>&1; then
    echo "SKIP: real_${prog}_$mode: '$cmd' is not installed (see $here/packages.txt)"
    exit 77
  fi
done

# Make sure the dynamic loader really maps the library (a bad path or an
# incompatible library would otherwise only show up as a stderr difference).
real_lib=$(readlink -f "$lib")
if ! env -i LD_PRELOAD="$lib" /bin/cat /proc/self/maps 2>/dev/null | grep -qF "$real_lib"; then
  echo "FAIL: real_${prog}_$mode: LD_PRELOAD=$lib is not loaded by /bin/cat:" >&2
  env -i LD_PRELOAD="$lib" /bin/true
  exit 1
fi

root=$(mktemp -d "${REAL_TMP:-${TMPDIR:-/tmp}}/real-$prog-$mode.XXXXXX") || exit 1

# cpu_of FILE: the CPU time (user + system) of this shell's children in
# FILE, which `times >FILE` wrote (run in this shell: a subshell, such as a
# command substitution, would count its own children only).
cpu_of() {
  awk 'NR == 2 { n = split($0, t, /[ ms]+/); s = 0
    for (i = 1; i + 1 <= n; i += 2) s += t[i] * 60 + t[i + 1]; printf "%.3f\n", s }' "$1"
}

# run_once NAME [ENV...]: run the workload in $root/NAME/work with a clean
# environment plus ENV; leaves NAME.out, NAME.err, NAME.rc, NAME.time and
# NAME.cpu (user + system seconds of the workload's processes) in $root.
run_once() {
  local name=$1; shift
  local dir=$root/$name
  mkdir -p "$dir/work" "$dir/home" "$dir/tmp"
  local start end
  times >"$root/$name.times0"
  start=$EPOCHREALTIME
  (
    cd "$dir/work" &&
    exec env -i \
      PATH="$std_path" HOME="$dir/home" TMPDIR="$dir/tmp" \
      LC_ALL=C LANG=C TZ=UTC SHELL=/bin/bash \
      REAL_DATA="$data" \
      PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
      PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 \
      GIT_CONFIG_NOSYSTEM=1 \
      GIT_AUTHOR_NAME="Real Test" GIT_AUTHOR_EMAIL=real@example.invalid \
      GIT_COMMITTER_NAME="Real Test" GIT_COMMITTER_EMAIL=real@example.invalid \
      GIT_AUTHOR_DATE="2020-01-01T00:00:00Z" GIT_COMMITTER_DATE="2020-01-01T00:00:00Z" \
      SOURCE_DATE_EPOCH=1577836800 \
      "$@" \
      /bin/bash "$workload"
  ) >"$root/$name.out" 2>"$root/$name.err" </dev/null
  echo $? >"$root/$name.rc"
  end=$EPOCHREALTIME
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }' >"$root/$name.time"
  times >"$root/$name.times1"
  awk -v s="$(cpu_of "$root/$name.times0")" -v e="$(cpu_of "$root/$name.times1")" \
    'BEGIN { printf "%.3f\n", e - s }' >"$root/$name.cpu"
}

# normalise NAME STREAM: print the stream with what legitimately differs
# between two runs replaced by placeholders.
normalise() {
  local name=$1 stream=$2
  ROOT_DIR="$root/$name" DATA_DIR="$data" LIB="$lib" perl -pe '
    BEGIN { $r = quotemeta $ENV{ROOT_DIR}; $d = quotemeta $ENV{DATA_DIR};
            $l = quotemeta $ENV{LIB}; }
    s/$r/<RUN>/g; s/$d/<DATA>/g; s/$l/<LIB>/g;
    s{/tmp/[\w.+-]+}{<TMPFILE>}g;                              # stray temp files
    s/\b(pid|PID|process)([ =:#]+)\d+/$1$2<PID>/g;             # process ids
    s/\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?/<DATE>/g;
    s/\b\d\d:\d\d:\d\d(\.\d+)?\b/<TIME>/g;                     # clock times
    s/\b\d+(\.\d+)? ?(sec|secs|seconds|s|ms)\b/<DURATION>/g;   # durations
  ' "$root/$name.$stream"
}

run_once plain
# shellcheck disable=SC2086  # REAL_PRELOAD_ENV is a list of words on purpose
run_once preload LD_PRELOAD="$lib" ${options:+HEAPGUARD_OPTIONS="$options"} ${REAL_PRELOAD_ENV:-}

fail=0
problem() { echo "FAIL: real_${prog}_$mode: $*"; fail=1; }

plain_rc=$(cat "$root/plain.rc") preload_rc=$(cat "$root/preload.rc")
plain_t=$(cat "$root/plain.time") preload_t=$(cat "$root/preload.time")

if [ "$plain_rc" != 0 ]; then
  problem "the workload fails even without the preload (exit $plain_rc); stderr:"
  head -n 40 "$root/plain.err"
fi
if [ "$plain_rc" != "$preload_rc" ]; then
  problem "exit status $plain_rc without the preload, $preload_rc with it"
fi
# No line may differ, in either mode: heapguard writes nothing but reports.
for stream in out err; do
  normalise plain $stream >"$root/plain.$stream.norm"
  normalise preload $stream >"$root/preload.$stream.norm"
  if ! cmp -s "$root/plain.$stream.norm" "$root/preload.$stream.norm"; then
    problem "std$stream differs (- plain, + preloaded):"
    diff -u "$root/plain.$stream.norm" "$root/preload.$stream.norm" | sed -n '3,80p'
  fi
done
# Allocator reports: the preloaded run's output (with the library and source
# paths already replaced) must not mention heapguard.
if grep -q heapguard "$root/preload.err.norm" "$root/preload.out.norm"; then
  problem "allocator reports in the preloaded run:"
  grep -h -m 40 -B2 -A10 heapguard "$root/preload.err.norm" "$root/preload.out.norm"
fi

# Forensic dumps the allocator may have written into a working directory.
dumps=$(find "$root/preload" -name 'heapguard.*.hgdump' 2>/dev/null)
if [ -n "$dumps" ]; then
  problem "heap dumps written by the preloaded run:"
  echo "$dumps"
fi

plain_c=$(cat "$root/plain.cpu") preload_c=$(cat "$root/preload.cpu")
ratio=$(awk -v p="$plain_t" -v q="$preload_t" 'BEGIN { printf "%.2f", (p > 0 ? q / p : 0) }')
cpu_ratio=$(awk -v p="$plain_c" -v q="$preload_c" 'BEGIN { printf "%.2f", (p > 0 ? q / p : 0) }')
printf 'real_%s_%s: plain %ss, preloaded %ss, time ratio %s; CPU (user+sys) %ss, %ss, ratio %s (preloaded/plain) - %s\n' \
  "$prog" "$mode" "$plain_t" "$preload_t" "$ratio" "$plain_c" "$preload_c" "$cpu_ratio" \
  "$([ $fail = 0 ] && echo PASS || echo FAIL)"

if [ $fail = 0 ] && [ "${REAL_KEEP:-0}" != 1 ]; then
  rm -rf "$root"
else
  echo "outputs kept in $root"
fi
exit $fail
