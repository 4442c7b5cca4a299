#!/usr/bin/env bash
# cli_test.sh CASE - one test of the heapguard command, run by ctest
# (tests/cli/CMakeLists.txt passes the paths below in the environment).
# Exit status: 0 pass, 1 fail, 77 skipped (a tool the case needs is missing).
# Each case works in $HG_WORK_ROOT/CASE, left in place for a look after a
# failure and emptied when the case starts again.
set -uo pipefail

: "${HG_WRAPPER:?}" "${HG_LIB:?}" "${HG_PROBE:?}" "${HG_WORKER:?}" "${HG_STATIC?}"
: "${HG_HEADER_SMASH:?}" "${HG_LEAK:?}" "${HG_BUILD_DIR:?}" "${HG_SOURCE_DIR:?}" "${HG_WORK_ROOT:?}" "${HG_CMAKE:?}"
: "${HG_CTEST:?}" "${HG_CC:?}" "${HG_VERSION:?}" "${HG_BUGS:?}"

case_name=${1:?usage: cli_test.sh CASE}
W=$HG_WORK_ROOT/$case_name
rm -rf "$W"
mkdir -p "$W"
HG=$HG_WRAPPER
# What the wrapper preloads: the library by its run-time name (soname).
lib_real=$(readlink -f "$HG_LIB")
LIB=$(dirname "$lib_real")/$(basename "$lib_real" | sed 's/^\(libheapguard\.so\.[0-9]*\).*/\1/')
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
skip() {
  echo "SKIP: $*"
  exit 77
}
# expect_status WANT GOT WHAT
expect_status() {
  [ "$2" = "$1" ] || fail "$3: status $2, expected $1"
}
# expect_in FILE TEXT WHAT: FILE contains TEXT (fixed string)
expect_in() {
  grep -qF -- "$2" "$1" || fail "$3: no '$2' in $1:$(printf '\n'; sed 's/^/    | /' "$1" | head -60)"
}
expect_not_in() {
  ! grep -qF -- "$2" "$1" || fail "$3: unexpected '$2' in $1"
}
# run OUT_FILE CMD...: run with stdout and stderr to OUT_FILE, set $status.
run() {
  local out=$1
  shift
  "$@" >"$out" 2>&1
  status=$?
}
count_files() { # DIR GLOB
  local n=0 f
  for f in "$1"/$2; do
    [ -e "$f" ] && n=$((n + 1))
  done
  echo "$n"
}
# The status as Python's subprocess sees it: -N for a death by signal N.
raw_status() {
  python3 -c 'import subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(r.returncode)' "$@"
}
json_field() { # FILE KEY: one top-level field of the one JSON object in FILE
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$1" "$2"
}

# ---- cases ------------------------------------------------------------------

case_help_version() {
  run "$W/help" "$HG" --help
  expect_status 0 "$status" "--help"
  expect_in "$W/help" "usage: heapguard [options] [--] program [args...]" "--help"
  expect_in "$W/help" "heapguard inspect" "--help"
  run "$W/version" "$HG" --version
  expect_status 0 "$status" "--version"
  expect_in "$W/version" "heapguard $HG_VERSION" "--version"
  expect_in "$W/version" "library   $LIB" "--version names the built library"
  run "$W/none" "$HG"
  expect_status 125 "$status" "no program"
  expect_in "$W/none" "usage:" "no program"
  run "$W/bad" "$HG" --frobnicate -- true
  expect_status 125 "$status" "unknown option"
  expect_in "$W/bad" "unknown option '--frobnicate'" "unknown option"
  run "$W/noarg" "$HG" --log
  expect_status 125 "$status" "--log without a directory"
  # The library is found through a symlink to the script, too.
  ln -s "$HG" "$W/hg-link"
  run "$W/link" "$W/hg-link" -- "$HG_PROBE"
  expect_status 0 "$status" "through a symlink"
  expect_in "$W/link" "active=1" "through a symlink"
  # A library that is not there is an error of heapguard, not of the program.
  run "$W/nolib" env HEAPGUARD_LIB="$W/missing.so" "$HG" -- "$HG_PROBE"
  expect_status 125 "$status" "missing library"
  expect_in "$W/nolib" "library $W/missing.so not found" "missing library"
}

case_options() {
  local o
  run "$W/plain" env -u LD_PRELOAD -u HEAPGUARD_OPTIONS "$HG" -- "$HG_PROBE"
  expect_status 0 "$status" "plain run"
  expect_in "$W/plain" "LD_PRELOAD=$LIB" "plain run: LD_PRELOAD"
  expect_in "$W/plain" "HEAPGUARD_OPTIONS=(unset)" "plain run: no options"
  expect_in "$W/plain" "active=1" "plain run: heapguard is the allocator"

  # (The probe's own exit status is 9 when leaks=1 counts libc's stdout
  # buffer as a leak.)
  run "$W/all" env -u LD_PRELOAD -u HEAPGUARD_OPTIONS "$HG" --log "$W/logs" --json \
    --dumps "$W/dumps" --leaks --keep-going --exit-code 9 -o quarantine_bytes=0 \
    -ocheck_on_exit=1 --log="$W/logs2" -- "$HG_PROBE"
  o="log_path=$W/logs/heapguard:report_format=json:dump_dir=$W/dumps:leaks=1"
  o="$o:halt_on_error=0:exit_code=9:quarantine_bytes=0:check_on_exit=1"
  o="$o:log_path=$W/logs2/heapguard"
  expect_in "$W/all" "HEAPGUARD_OPTIONS=$o" "every option, in order"
  expect_in "$W/all" "active=1" "every option: heapguard is the allocator"
  if ! [ -d "$W/logs" ] || ! [ -d "$W/dumps" ] || ! [ -d "$W/logs2" ]; then
    fail "--log and --dumps directories not created"
  fi

  # Relative directories become absolute: the program may change directory.
  (cd "$W" && "$HG" --log rel/logs -- "$HG_PROBE") >"$W/rel.out" 2>&1
  expect_in "$W/rel.out" "HEAPGUARD_OPTIONS=log_path=$(cd "$W" && pwd -P)/rel/logs/heapguard" \
    "relative --log"

  # What is already in the environment is kept; ours come after (and win).
  run "$W/merge" env LD_PRELOAD=libm.so.6 HEAPGUARD_OPTIONS=arenas=2:exit_code=3 \
    "$HG" --exit-code 4 -- "$HG_PROBE"
  expect_in "$W/merge" "LD_PRELOAD=libm.so.6:$LIB" "LD_PRELOAD appended"
  expect_in "$W/merge" "HEAPGUARD_OPTIONS=arenas=2:exit_code=3:exit_code=4" \
    "HEAPGUARD_OPTIONS merged"
  expect_in "$W/merge" "active=1" "merged: heapguard is the allocator"
  # ... and the library takes the later value.
  run "$W/merged-bug" env HEAPGUARD_OPTIONS=exit_code=3 "$HG" --exit-code 4 \
    --dumps "$W/dumps" -- "$HG_WORKER" corrupt
  expect_status 4 "$status" "--exit-code after HEAPGUARD_OPTIONS=exit_code=3"
  # --leaks reaches the library.
  run "$W/leaks" "$HG" --leaks --exit-code 9 -- "$HG_LEAK"
  expect_status 9 "$status" "--leaks --exit-code 9 on a leaking program"
  expect_in "$W/leaks" "ERROR: heapguard: detected memory leaks" "--leaks"
  # A process without leaks leaves no log file, with --leaks too.
  run "$W/no-leaks" "$HG" --leaks --log "$W/leak-logs" -- sh -c '/bin/true; /bin/true'
  expect_status 0 "$status" "--leaks on processes without leaks"
  [ "$(count_files "$W/leak-logs" '*')" = 0 ] ||
    fail "--leaks: log files of processes without leaks: $(ls "$W/leak-logs")"
  # Running heapguard under heapguard preloads the library once.
  run "$W/nested" "$HG" -- "$HG" -- "$HG_PROBE"
  expect_in "$W/nested" "LD_PRELOAD=$LIB" "nested: one copy"
  expect_not_in "$W/nested" "libheapguard.so:" "nested: one copy"

  # Values HEAPGUARD_OPTIONS cannot hold are refused before running.
  run "$W/colon" "$HG" --dumps "$W/a:b" -- "$HG_PROBE"
  expect_status 125 "$status" "':' in a directory"
  expect_in "$W/colon" "cannot hold a path with ':'" "':' in a directory"
  [ ! -e "$W/a:b" ] || fail "':' in a directory: created before it was refused"
  run "$W/colon2" "$HG" -o log_path=/tmp/a:b -- "$HG_PROBE"
  expect_status 125 "$status" "':' in a value"
  expect_in "$W/colon2" "values cannot contain ':'" "':' in a value"
  run "$W/noeq" "$HG" -o leaks -- "$HG_PROBE"
  expect_status 125 "$status" "-o without ="
  run "$W/long" "$HG" -o "dump_dir=/$(printf '%0300d' 0)" -- "$HG_PROBE"
  expect_status 125 "$status" "value too long"
  expect_in "$W/long" "longer than 255 characters" "value too long"
  # An option the library does not know is the library's to reject.
  run "$W/unknown" "$HG" -o frobnicate=1 -- "$HG_PROBE"
  expect_status 1 "$status" "unknown library option"
  expect_in "$W/unknown" "unknown option 'frobnicate'" "unknown library option"
}

# Programs that leave their memory to the kernel at exit fail under --leaks
# until the example rules (examples/leaks-at-exit.supp) suppress that.
case_suppressions() {
  local supp name
  supp=$(cd "$HG_SOURCE_DIR" && pwd -P)/examples/leaks-at-exit.supp
  printf 'import json\nprint(json.dumps([1, 2]))\n' >"$W/script.py"
  local -a progs=("/usr/bin/python3 $W/script.py" "perl -e print(1)"
    "sort $HG_SOURCE_DIR/examples/leaks-at-exit.supp")
  for p in "${progs[@]}"; do
    name=$(basename "${p%% *}")
    # shellcheck disable=SC2086 # a command and its words
    command -v ${p%% *} >/dev/null 2>&1 || skip "${p%% *} is not installed"
    # shellcheck disable=SC2086
    run "$W/$name.leaks" "$HG" --leaks -- $p
    expect_status 23 "$status" "$name --leaks without suppressions"
    expect_in "$W/$name.leaks" "ERROR: heapguard: detected memory leaks" "$name --leaks"
    # shellcheck disable=SC2086
    run "$W/$name.plain" env -u LD_PRELOAD $p
    # shellcheck disable=SC2086
    run "$W/$name.supp" "$HG" --leaks --suppressions "$supp" -- $p
    expect_status 0 "$status" "$name --leaks --suppressions"
    cmp -s "$W/$name.plain" "$W/$name.supp" ||
      fail "$name: output with suppressed leaks differs from the output without heapguard"
    # shellcheck disable=SC2086
    run "$W/$name.verbose" "$HG" --leaks --suppressions="$supp" -o verbosity=1 -- $p
    expect_status 0 "$status" "$name --leaks --suppressions -o verbosity=1"
    expect_in "$W/$name.verbose" " suppressed" "$name: the count at exit"
    expect_in "$W/$name.verbose" "  count      bytes rule" "$name: the count at exit"
  done
  # The file is named by an absolute path, and must be there.
  run "$W/relative" env -C "$HG_SOURCE_DIR" "$HG" --suppressions examples/leaks-at-exit.supp \
    -- "$HG_PROBE"
  expect_in "$W/relative" "HEAPGUARD_OPTIONS=suppressions=$supp" "--suppressions made absolute"
  run "$W/missing" "$HG" --suppressions "$W/none.supp" -- "$HG_PROBE"
  expect_status 125 "$status" "--suppressions of a missing file"
  expect_in "$W/missing" "--suppressions: cannot read" "--suppressions of a missing file"
}

# docs/debugging.md: what to break on in gdb, guard mode stopping at the
# faulting line, and the core dump of a report.
case_debugger() {
  command -v gdb >/dev/null 2>&1 || skip "gdb is not installed"
  local gdb=(timeout 120 gdb -batch -nx -ex "set environment LD_PRELOAD $HG_LIB")
  run "$W/break" "${gdb[@]}" -ex 'set environment HEAPGUARD_OPTIONS symbolize=0' \
    -ex 'set breakpoint pending on' -ex 'break hg_report' -ex run -ex bt -ex 'p f->what' \
    --args "$HG_BUGS/overflow_1byte"
  expect_in "$W/break" "hg_report (f=" "break hg_report"
  expect_in "$W/break" "in write_one_past_end () at " "break hg_report: the program's frame"
  expect_in "$W/break" '"trailing canary"' "break hg_report: p f->what"
  expect_not_in "$W/break" "ERROR: heapguard" "break hg_report: stopped before the report"
  run "$W/guard" "${gdb[@]}" -ex 'set environment HEAPGUARD_OPTIONS guard_mode=all:symbolize=0' \
    -ex run -ex bt -ex continue --args "$HG_BUGS/guard_overflow_read"
  expect_in "$W/guard" "Program received signal SIGSEGV" "guard mode under gdb"
  expect_in "$W/guard" "read_one_past_end () at " "guard mode: the faulting frame"
  expect_in "$W/guard" "guard_overflow_read.c:12" "guard mode: the faulting line"
  expect_in "$W/guard" "ERROR: heapguard: heap-buffer-overflow in READ(" \
    "guard mode: continue lets heapguard report"
  # A core file, where the kernel writes them into the working directory.
  if [ "$(cat /proc/sys/kernel/core_pattern)" != core ]; then
    echo "core_pattern is not 'core': core dump part skipped"
    return
  fi
  (cd "$W" && ulimit -c unlimited && env LD_PRELOAD="$HG_LIB" \
    HEAPGUARD_OPTIONS=guard_mode=all:symbolize=0 "$HG_BUGS/guard_overflow_read") \
    >"$W/aborted" 2>&1
  local core
  core=$(find "$W" -maxdepth 1 -name 'core*' | head -n 1)
  if [ -z "$core" ]; then
    fail "no core file from an abort with ulimit -c unlimited"
    return
  fi
  run "$W/core-bt" timeout 120 gdb -batch -nx -ex bt "$HG_BUGS/guard_overflow_read" "$core"
  expect_in "$W/core-bt" "report (f=" "core: the report's frame"
  expect_in "$W/core-bt" "<signal handler called>" "core: the signal frame"
  expect_in "$W/core-bt" "read_one_past_end () at " "core: the faulting frame"
  rm -f "$core"
}

# man_page_has PAGE TEXT WHAT: the rendered page PAGE (a file) holds TEXT.
man_page_has() {
  grep -qF -- "$2" "$1" || fail "$3: no '$2' in $(basename "$1")"
}

# The man pages render without a warning, and list every command and
# option that heapguard --help, heapguard-inspect --help and help=1 list.
case_man_pages() {
  command -v man >/dev/null 2>&1 || skip "man is not installed"
  local page name opt
  for page in heapguard.1 heapguard-inspect.1 heapguard.3; do
    MANWIDTH=200 man --warnings -l "$HG_SOURCE_DIR/man/$page" >"$W/$page.txt" 2>"$W/$page.err"
    expect_status 0 "$?" "man -l $page"
    [ ! -s "$W/$page.err" ] || fail "man -l $page: $(cat "$W/$page.err")"
    expect_in "$W/$page.txt" "NAME" "man -l $page"
  done
  # Every option of the command's --help, and its commands.
  run "$W/help" "$HG" --help
  for opt in $(grep -oE '^  (-[a-zA-Z], )?--?[a-zA-Z-]+' "$W/help" | tr -d ','); do
    man_page_has "$W/heapguard.1.txt" "$opt" "heapguard --help option"
  done
  for name in inspect symbolize; do
    expect_in "$W/help" "heapguard $name" "heapguard --help command"
    man_page_has "$W/heapguard.1.txt" "heapguard $name" "heapguard(1) command"
  done
  run "$W/symbolize-help" "$HG" symbolize --help
  while read -r opt; do
    man_page_has "$W/heapguard.1.txt" "$opt" "heapguard symbolize --help option"
  done < <(grep -oE '^  --?[a-zA-Z-]+' "$W/symbolize-help")
  run "$W/inspect-help" "$(dirname "$HG")/heapguard-inspect" --help
  for opt in $(grep -oE '^  (-[a-zA-Z], )?--?[a-zA-Z-]+' "$W/inspect-help" | tr -d ','); do
    man_page_has "$W/heapguard-inspect.1.txt" "$opt" "heapguard-inspect --help option"
  done
  # Every library option, and none that is not one.
  env LD_PRELOAD="$HG_LIB" HEAPGUARD_OPTIONS=help=1 true 2>"$W/options"
  local listed=0
  while read -r name; do
    listed=$((listed + 1))
    grep -q "^       $name=" "$W/heapguard.3.txt" || fail "heapguard(3) does not document $name"
  done < <(sed -n 's/^  \([a-z_]*\)=.*/\1/p' "$W/options")
  [ "$listed" -gt 20 ] || fail "help=1 listed $listed options"
  while read -r name; do
    grep -q "^  $name=" "$W/options" || fail "heapguard(3) documents $name, which is no option"
  done < <(sed -n 's/^       \([a-z_]*\)=.*/\1/p' "$W/heapguard.3.txt")
}

case_status() {
  local s
  for s in 0 1 3 42 255; do
    run "$W/st$s" "$HG" -- "$HG_PROBE" "$s"
    expect_status "$s" "$status" "probe exiting $s"
  done
  # A program found in PATH, and a shell builtin name that is also a program.
  run "$W/path" env PATH="$(dirname "$HG_PROBE"):$PATH" "$HG" -- "$(basename "$HG_PROBE")" 5
  expect_status 5 "$status" "program from PATH"
  run "$W/false" "$HG" false
  expect_status 1 "$status" "false"
  # A death by signal stays one: the program replaces the wrapper.
  s=$(raw_status "$HG" --dumps "$W/dumps" -- "$HG_WORKER" corrupt)
  [ "$s" = -6 ] || fail "bug program: subprocess status $s, expected -6 (SIGABRT)"
  s=$(raw_status "$HG" -- sh -c 'kill -TERM $$')
  [ "$s" = -15 ] || fail "SIGTERM: subprocess status $s, expected -15"
  # heapguard's exit code after a report.
  run "$W/exit42" "$HG" --exit-code 42 --dumps "$W/dumps" -- "$HG_WORKER" corrupt
  expect_status 42 "$status" "--exit-code 42"
  expect_in "$W/exit42" "ERROR: heapguard: heap-buffer-overflow" "--exit-code 42: report"
  # Not found, not executable.
  run "$W/nf" "$HG" -- "$W/no-such-program"
  expect_status 127 "$status" "missing program"
  run "$W/nf2" "$HG" -- no-such-program-in-path
  expect_status 127 "$status" "missing program in PATH"
  expect_in "$W/nf2" "no-such-program-in-path: command not found" "missing program in PATH"
  printf 'data\n' >"$W/plainfile"
  run "$W/nx" "$HG" -- "$W/plainfile"
  expect_status 126 "$status" "not executable"
  run "$W/dir" "$HG" -- "$W"
  expect_status 126 "$status" "a directory"
  # Arguments reach the program unchanged.
  # shellcheck disable=SC2016 # literal $ on purpose
  run "$W/args" "$HG" -- sh -c 'printf "<%s>" "$@"' sh "a b" "" "-o" "--" '$x*'
  # shellcheck disable=SC2016
  expect_in "$W/args" '<a b><><-o><--><$x*>' "arguments"
}

case_refuse_static() {
  [ -n "$HG_STATIC" ] || skip "no static libc to link a static program with"
  run "$W/static" "$HG" -- "$HG_STATIC"
  expect_status 125 "$status" "static program"
  expect_in "$W/static" "is statically linked" "static program"
  expect_not_in "$W/static" "static program ran" "static program must not run"
  # --no-check runs it anyway (without heapguard).
  run "$W/forced" "$HG" --no-check -- "$HG_STATIC"
  expect_status 0 "$status" "static program with --no-check"
  expect_in "$W/forced" "static program ran" "static program with --no-check"
  # A script whose interpreter is static is refused as well.
  printf '#!%s\n' "$HG_STATIC" >"$W/script"
  chmod +x "$W/script"
  run "$W/script.out" "$HG" -- "$W/script"
  expect_status 125 "$status" "script with a static interpreter"
  expect_in "$W/script.out" "is statically linked" "script with a static interpreter"
  # A script run by a dynamic interpreter is fine.
  # shellcheck disable=SC2016 # expanded by the script
  printf '#!/bin/sh\necho "script ran $LD_PRELOAD"\n' >"$W/ok-script"
  chmod +x "$W/ok-script"
  run "$W/ok-script.out" "$HG" -- "$W/ok-script"
  expect_status 0 "$status" "shell script"
  expect_in "$W/ok-script.out" "script ran $LIB" "shell script"
  printf '#!/usr/bin/env sh\necho env-script ran\n' >"$W/env-script"
  chmod +x "$W/env-script"
  run "$W/env-script.out" "$HG" -- "$W/env-script"
  expect_status 0 "$status" "#!/usr/bin/env script"
  expect_in "$W/env-script.out" "env-script ran" "#!/usr/bin/env script"
}

case_refuse_setuid() {
  cp "$HG_PROBE" "$W/probe-setuid"
  chmod u+s "$W/probe-setuid"
  [ -u "$W/probe-setuid" ] || skip "cannot set the setuid bit here (nosuid file system?)"
  run "$W/setuid" "$HG" -- "$W/probe-setuid"
  expect_status 125 "$status" "setuid program"
  expect_in "$W/setuid" "is setuid: the dynamic loader ignores LD_PRELOAD" "setuid program"
  expect_not_in "$W/setuid" "active=" "setuid program must not run"
  cp "$HG_PROBE" "$W/probe-setgid"
  chmod g+s "$W/probe-setgid"
  if [ -g "$W/probe-setgid" ]; then
    run "$W/setgid" "$HG" -- "$W/probe-setgid"
    expect_status 125 "$status" "setgid program"
    expect_in "$W/setgid" "is setgid" "setgid program"
  fi
  # The same program without the bit runs, with heapguard.
  cp "$HG_PROBE" "$W/probe-plain"
  run "$W/plain" "$HG" -- "$W/probe-plain"
  expect_status 0 "$status" "copy without the setuid bit"
  expect_in "$W/plain" "active=1" "copy without the setuid bit"
}

case_inspect() {
  local dump block
  run "$W/run" "$HG" --dumps "$W/dumps" -- "$HG_HEADER_SMASH"
  expect_in "$W/run" "ERROR: heapguard: metadata-corruption in free(" "header_smash report"
  [ "$(count_files "$W/dumps" '*.hgdump')" = 1 ] || fail "header_smash: expected one dump"
  dump=$(echo "$W"/dumps/*.hgdump)
  block=$(sed -n 's/^  block \(0x[0-9a-f]*\) (data .*header damaged.*/\1/p' "$W/run")
  [ -n "$block" ] || fail "no damaged block in the report"
  run "$W/text" "$HG" inspect "$dump"
  expect_status 1 "$status" "inspect: damage found"
  expect_in "$W/text" "class    metadata-corruption (4)" "inspect: class"
  expect_in "$W/text" "block    $block" "inspect: the report's block"
  grep -qE "^ +[0-9]+ +\+0x[0-9a-f]+ +$block +[0-9]+ +DAMAGED" "$W/text" ||
    fail "inspect: block $block not marked DAMAGED in the block map"
  expect_in "$W/text" "verdict: DAMAGE FOUND" "inspect: verdict"
  # Options after the subcommand go to heapguard-inspect.
  run "$W/json" "$HG" inspect --json "$dump"
  expect_status 1 "$status" "inspect --json"
  python3 -m json.tool "$W/json" >/dev/null || fail "inspect --json: not JSON"
  run "$W/html" "$HG" inspect --html "$W/page.html" "$dump"
  expect_status 1 "$status" "inspect --html"
  [ -s "$W/page.html" ] || fail "inspect --html: no page"
  run "$W/help" "$HG" inspect --help
  expect_status 0 "$status" "inspect --help"
  expect_in "$W/help" "usage: heapguard-inspect" "inspect --help"
  run "$W/version" "$HG" inspect --version
  expect_status 0 "$status" "inspect --version"
  expect_in "$W/version" "heapguard-inspect $HG_VERSION" "inspect --version"
  run "$W/missing" "$HG" inspect "$W/no-such.hgdump"
  expect_status 2 "$status" "inspect of a missing file"
  head -c 100 "$dump" >"$W/short.hgdump"
  run "$W/short" "$HG" inspect "$W/short.hgdump"
  expect_status 2 "$status" "inspect of a truncated dump"
}

# symbolize: frames of text and JSON reports gain FILE:LINE from addr2line,
# from any directory, for a program that is not position-independent too,
# and by build id or name when the binaries have moved; a frame that cannot
# be placed says why.
case_symbolize() {
  local hs=$HG_HEADER_SMASH id
  run "$W/help" "$HG" symbolize --help
  expect_status 0 "$status" "symbolize --help"
  expect_in "$W/help" "usage: heapguard symbolize [--search DIR]... [REPORT...]" "symbolize --help"
  run "$W/missing" "$HG" symbolize "$W/no-such-report"
  expect_status 2 "$status" "symbolize of a missing report"
  expect_in "$W/missing" "cannot read $W/no-such-report" "symbolize of a missing report"
  run "$W/bad" "$HG" symbolize --frobnicate
  expect_status 2 "$status" "symbolize with an unknown option"

  # A report without file:line (symbolize=0), symbolised from elsewhere.
  run "$W/run" "$HG" -o symbolize=0 -o dump=0 -- "$hs"
  expect_in "$W/run" "in forge_next_header+" "header_smash report"
  expect_not_in "$W/run" "header_smash.c:" "header_smash report with symbolize=0"
  (cd / && "$HG" symbolize "$W/run") >"$W/symbolized"
  expect_status 0 $? "symbolize"
  grep -qE "in forge_next_header\+0x[0-9a-f]+ /.*tests/bugs/header_smash\.c:[0-9]+ \(/.*/header_smash\+0x[0-9a-f]+\) \(BuildId: [0-9a-f]+\)$" \
    "$W/symbolized" || fail "symbolize: no file:line for forge_next_header: $(grep '#0' "$W/symbolized")"
  "$HG" symbolize <"$W/run" >"$W/from-stdin"
  cmp -s "$W/symbolized" "$W/from-stdin" || fail "symbolize: stdin and file differ"
  # What the report placed itself is left as it is.
  run "$W/placed" "$HG" -o dump=0 -- "$hs"
  expect_in "$W/placed" "tests/bugs/header_smash.c:" "the report's own file:line"
  "$HG" symbolize "$W/placed" >"$W/placed.symbolized"
  cmp -s <(grep 'header_smash\.c:' "$W/placed") <(grep 'header_smash\.c:' "$W/placed.symbolized") ||
    fail "symbolize changed frames the report had placed"

  # JSON: "file" and "line" filled in, or "symbolize_error" said.
  run "$W/json" "$HG" -o symbolize=0 -o dump=0 --json -- "$hs"
  "$HG" symbolize "$W/json" >"$W/json.symbolized"
  python3 - "$W/json.symbolized" <<'EOF' || fail "symbolize of a JSON report"
import json, sys
r = json.loads(open(sys.argv[1]).read().split("\n")[-2])
top = r["backtrace"][0]
assert top["function"] == "forge_next_header", top
assert top["file"].endswith("tests/bugs/header_smash.c") and top["line"] > 0, top
for f in r["backtrace"]:
    assert isinstance(f["line"], int) or f["symbolize_error"], f
EOF

  # Not position-independent: module offsets are link-time addresses.
  run "$W/nopie" "$HG" -o symbolize=0 -o dump=0 -- "$HG_BUGS/overflow_1byte_nopie"
  "$HG" symbolize "$W/nopie" >"$W/nopie.symbolized"
  expect_in "$W/nopie.symbolized" "tests/bugs/overflow_1byte.c:10 (" "symbolize, not PIE"

  # Binaries moved or deleted since the report: by name, by build id.
  mkdir -p "$W/moved" "$W/elsewhere"
  cp "$hs" "$W/moved/hs"
  run "$W/moved.run" "$HG" -o symbolize=0 -o dump=0 -- "$W/moved/hs"
  id=$(readelf -n "$W/moved/hs" | sed -n 's/.*Build ID: //p')
  [ -n "$id" ] || { fail "no build id in $W/moved/hs"; return; }
  mkdir -p "$W/debug/.build-id/${id:0:2}"
  objcopy --only-keep-debug "$W/moved/hs" "$W/debug/.build-id/${id:0:2}/${id:2}.debug"
  mv "$W/moved/hs" "$W/elsewhere/hs"
  "$HG" symbolize "$W/moved.run" >"$W/moved.none"
  expect_in "$W/moved.none" "[no file:line: $W/moved/hs not found (build id $id); try --search DIR]" \
    "symbolize of a moved binary says why"
  "$HG" symbolize --search "$W/elsewhere" "$W/moved.run" >"$W/moved.by-name"
  expect_in "$W/moved.by-name" "tests/bugs/header_smash.c:" "symbolize --search, by name"
  rm "$W/elsewhere/hs"
  "$HG" symbolize --search "$W/debug" "$W/moved.run" >"$W/moved.by-id"
  expect_in "$W/moved.by-id" "tests/bugs/header_smash.c:" "symbolize --search, by build id"
  cp "$HG_BUGS/overflow_1byte" "$W/moved/hs"
  "$HG" symbolize "$W/moved.run" >"$W/moved.other"
  expect_in "$W/moved.other" "[no file:line: $W/moved/hs is not the build of the report" \
    "symbolize with another build at the module's path"

  # Stripped: the report names modules and offsets only; symbolize says why.
  cp "$hs" "$W/stripped"
  strip "$W/stripped"
  run "$W/stripped.run" "$HG" -o dump=0 -- "$W/stripped"
  expect_in "$W/stripped.run" "SUMMARY: heapguard: metadata-corruption in ($W/stripped+0x" \
    "the report of a stripped program"
  expect_not_in "$W/stripped.run" "header_smash.c:" "the report of a stripped program"
  "$HG" symbolize "$W/stripped.run" >"$W/stripped.symbolized"
  expect_in "$W/stripped.symbolized" "[no file:line: no debug information for this address in $W/stripped]" \
    "symbolize of a stripped program"
}

# A program's output through a pipe, and a file it wrote through stdio,
# are byte for byte what they are without heapguard (and without the bug),
# also when heapguard sets the exit status after reports or leaks.
case_program_output() {
  local prog=$HG_BUGS/output_kept how options bug
  "$prog" none "$W/plain.txt" | cat >"$W/plain.out"
  for how in "--keep-going:double-free" "--leaks:leak" "--keep-going --leaks:overflow"; do
    options=${how%:*} bug=${how#*:}
    # shellcheck disable=SC2086 # the options are words on purpose
    "$HG" -o dump=0 $options -- "$prog" "$bug" "$W/hg.txt" 2>"$W/hg.err" | cat >"$W/hg.out"
    expect_status 23 "${PIPESTATUS[0]}" "$how"
    cmp -s "$W/plain.out" "$W/hg.out" ||
      fail "$how: the program's output differs:$(diff "$W/plain.out" "$W/hg.out")"
    cmp -s "$W/plain.txt" "$W/hg.txt" ||
      fail "$how: the program's file differs:$(diff "$W/plain.txt" "$W/hg.txt")"
    expect_in "$W/hg.err" "ERROR: heapguard: " "$how: the report"
  done
}

# log_path=stderr and log_path=stdout name the streams, as with the
# sanitizers, instead of files stderr.PID and stdout.PID.
case_log_path() {
  local stream other
  for stream in stderr stdout; do
    other=stdout
    [ "$stream" = stdout ] && other=stderr
    (cd "$W" && "$HG" -o log_path=$stream --dumps "$W/dumps" -- "$HG_WORKER" corrupt \
      >"$W/out-$stream" 2>"$W/err-$stream")
    if [ "$stream" = stderr ]; then
      expect_in "$W/err-$stream" "ERROR: heapguard: heap-buffer-overflow" "log_path=$stream"
      expect_not_in "$W/out-$stream" "ERROR: heapguard" "log_path=$stream: not on $other"
    else
      expect_in "$W/out-$stream" "ERROR: heapguard: heap-buffer-overflow" "log_path=$stream"
      expect_not_in "$W/err-$stream" "ERROR: heapguard" "log_path=$stream: not on $other"
    fi
    [ "$(count_files "$W" "$stream.[0-9]*")" = 0 ] ||
      fail "log_path=$stream created a file: $(ls "$W")"
  done
}

# The JSON reader of docs/ci.md, run as printed there, on logs holding
# reports, the exit summary and a leak object.
case_json_snippet() {
  local prog
  for prog in two_bugs leak; do
    run "$W/$prog" "$HG" --log "$W/out/logs" --json --leaks --keep-going -o dump=0 -- \
      "$HG_BUGS/$prog"
    expect_status 23 "$status" "$prog with --keep-going --leaks"
  done
  awk '/^```sh$/ { block = ""; inside = 1; next }
       /^```$/ { if (inside && block ~ /json\.loads/) printf "%s", block; inside = 0; next }
       inside { block = block $0 "\n" }' "$HG_SOURCE_DIR/docs/ci.md" >"$W/snippet.sh"
  grep -q "json.loads" "$W/snippet.sh" || { fail "no JSON reader in docs/ci.md"; return; }
  (cd "$W" && sh snippet.sh) >"$W/snippet.out" 2>&1
  expect_status 0 $? "the docs/ci.md JSON reader"
  expect_in "$W/snippet.out" " double-free 0x" "the docs/ci.md JSON reader: a report"
  expect_in "$W/snippet.out" " memory-leak: " "the docs/ci.md JSON reader: the leaks"
  expect_in "$W/snippet.out" " summary: 3 reports, 2 distinct" "the docs/ci.md JSON reader: the summary"
}

# The issue's acceptance scenario: a test run of ten processes, one of
# which corrupts its heap, under --log --json --dumps.
case_acceptance() {
  local log dump pid
  cat >"$W/run-ten.sh" <<'EOF'
#!/bin/sh
# Ten workers at once; the seventh corrupts its heap.
pids=''
for i in 0 1 2 3 4 5 6 7 8 9; do
  if [ "$i" = 6 ]; then "$1" corrupt & else "$1" & fi
  pids="$pids $!"
done
failed=0
for p in $pids; do
  wait "$p" || failed=$((failed + 1))
done
echo "$failed of 10 failed"
[ "$failed" = 0 ]
EOF
  run "$W/run" "$HG" --log "$W/logs" --json --dumps "$W/dumps" -- sh "$W/run-ten.sh" "$HG_WORKER"
  expect_status 1 "$status" "the run of ten"
  expect_in "$W/run" "1 of 10 failed" "the run of ten"
  expect_not_in "$W/run" "ERROR: heapguard" "reports go to the log, not stderr"
  local victim
  victim=$(sed -n 's/^victim \(0x[0-9a-f]*\)$/\1/p' "$W/run")
  [ -n "$victim" ] || fail "the corrupting worker did not say which block"

  [ "$(count_files "$W/logs" '*')" = 1 ] || fail "expected one log file, found: $(ls "$W/logs")"
  log=$(echo "$W"/logs/heapguard.*)
  [ "$(wc -l <"$log")" = 1 ] || fail "$log: expected one report (one line), found $(wc -l <"$log")"
  python3 -m json.tool "$log" >"$W/report.json" || fail "$log: python3 -m json.tool rejects it"
  [ "$(json_field "$W/report.json" class)" = heap-buffer-overflow ] ||
    fail "report class $(json_field "$W/report.json" class)"
  [ "$(json_field "$W/report.json" address)" = "$victim" ] ||
    fail "report address $(json_field "$W/report.json" address), the worker's block is $victim"
  [ "$(json_field "$W/report.json" check)" = "trailing canary" ] || fail "report check"
  [ "$(json_field "$W/report.json" offset)" = 40 ] || fail "report offset"
  [ "$(json_field "$W/report.json" extent)" = 6 ] || fail "report extent"
  pid=$(json_field "$W/report.json" pid)
  [ "$log" = "$W/logs/heapguard.$pid" ] || fail "log $log is not named after pid $pid"
  local block
  block=$(json_field "$W/report.json" block)

  [ "$(count_files "$W/dumps" '*')" = 1 ] || fail "expected one dump, found: $(ls "$W/dumps")"
  dump=$(echo "$W"/dumps/*.hgdump)
  [ "$(json_field "$W/report.json" dump)" = "$dump" ] || fail "the report names another dump"

  # heapguard inspect points at the same block and shows the bytes.
  run "$W/inspect.txt" "$HG" inspect "$dump"
  expect_status 1 "$status" "inspect of the run's dump"
  expect_in "$W/inspect.txt" "block    $block  (block #" "inspect: the report's block"
  grep -qE "^ +[0-9]+ +\+0x[0-9a-f]+ +$block +[0-9]+ +used .*trailing canary damaged" \
    "$W/inspect.txt" || fail "inspect: block $block not marked damaged in the block map"
  expect_in "$W/inspect.txt" "trailing canary: 6 bad byte(s)" "inspect: the damage"
  expect_in "$W/inspect.txt" "45 56 49 4c 21 21" "inspect: the overwriting bytes"
  expect_in "$W/inspect.txt" "vvvvvvvvEVIL!!" "inspect: the overwriting bytes as text"
  run "$W/inspect.json" "$HG" inspect --json "$dump"
  python3 - "$W/inspect.json" "$block" <<'EOF' || fail "inspect --json does not point at $block"
import json, sys
d = json.load(open(sys.argv[1]))
block = sys.argv[2]
assert d["report"]["block"] == block, d["report"]
damaged = [b for b in d["blocks"] if b["problems"]]
assert [b["address"] for b in damaged] == [block], damaged
assert any("4556494c2121" in h["bytes"] for h in d["hexdumps"]), d["hexdumps"]
EOF
}

case_html_chromium() {
  local chromium='' c dump block
  for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then
      chromium=$(command -v "$c")
      break
    fi
  done
  [ -n "$chromium" ] || skip "chromium is not installed"
  run "$W/run" "$HG" --dumps "$W/dumps" --json -- "$HG_WORKER" corrupt
  dump=$(echo "$W"/dumps/*.hgdump)
  [ -f "$dump" ] || { fail "no dump"; return; }
  block=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().split("\n")[-2])["block"])' "$W/run") ||
    { fail "no JSON report"; return; }
  run "$W/inspect" "$HG" inspect --html "$W/page.html" "$dump"
  expect_status 1 "$status" "inspect --html"
  local flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$W/profile")
  timeout 120 "$chromium" "${flags[@]}" --dump-dom "file://$W/page.html" \
    >"$W/dom.html" 2>"$W/chromium.err" || fail "chromium --dump-dom failed: $(tail -5 "$W/chromium.err")"
  # The DOM after the page's scripts ran: the map, the damaged block drawn
  # damaged and selected, its details and its row in the damaged table.
  python3 - "$W/dom.html" "$block" <<'EOF' || fail "the page does not show block $block as damaged"
import sys
from html.parser import HTMLParser

dom, block = open(sys.argv[1]).read(), sys.argv[2]

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rects, self.stack, self.text = [], [], {}
        self.cur = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a.get("id")))
        if tag == "rect":
            self.cur = dict(a, title="")
            self.rects.append(self.cur)
        if tag == "tr" and "dmg" in (a.get("class") or "").split():
            self.text.setdefault("dmgrows", []).append(a)
    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "rect":
            self.cur = None
    def handle_data(self, data):
        if self.cur is not None:
            self.cur["title"] += data
        for _, i in self.stack:
            if i:
                self.text[i] = self.text.get(i, "") + data

p = Page()
p.feed(dom)
verdict = p.text.get("verdict", "")
assert verdict.startswith("DAMAGE FOUND: "), verdict
assert len(p.rects) >= 3, "no block map: %d rects" % len(p.rects)
damaged = [r for r in p.rects if r.get("fill") in ("#d00", "#f39c12")]
assert damaged, "no block drawn damaged"
selected = [r for r in damaged if r.get("stroke") == "#000"]
assert selected, "the damaged block is not highlighted"
assert "trailing canary damaged" in selected[0]["title"], selected[0]["title"]
details = p.text.get("details", "")
assert "(" + block + ")" in details, details[:300]
rows = p.text.get("dmgrows", [])
assert len(rows) == 1 and "sel" in rows[0]["class"].split(), rows
assert block in p.text.get("damaged", ""), p.text.get("damaged", "")[:300]
assert block in p.text.get("info", ""), p.text.get("info", "")[:300]
print("page shows", block, "as damaged:", selected[0]["title"])
EOF
  # A screenshot of the page: a real, non-trivial PNG.
  timeout 120 "$chromium" "${flags[@]}" --hide-scrollbars --window-size=1200,900 \
    --screenshot="$W/page.png" "file://$W/page.html" >/dev/null 2>>"$W/chromium.err" ||
    fail "chromium --screenshot failed"
  python3 - "$W/page.png" <<'EOF' || fail "the screenshot is not a non-trivial PNG"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1200, 900), (w, h)
# Decompressed pixel data: a blank page compresses to almost nothing.
idat, pos = b"", 8
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
assert len(idat) > 20000, "only %d bytes of image data" % len(idat)
raw = zlib.decompress(idat)
assert len(set(raw[i] for i in range(0, len(raw), 7))) > 16, "too few distinct byte values"
EOF
}

case_ci_example() {
  local ex=$HG_SOURCE_DIR/examples/ci
  cp -r "$ex/project" "$W/project"
  run "$W/configure" "$HG_CMAKE" -S "$W/project" -B "$W/build"
  expect_status 0 "$status" "configure the example"
  run "$W/build.out" "$HG_CMAKE" --build "$W/build"
  expect_status 0 "$status" "build the example"
  # Without heapguard the suite passes: the bug goes unnoticed.
  (cd "$W/build" && "$HG_CTEST") >"$W/plain" 2>&1
  expect_status 0 "$?" "the example's tests without heapguard"

  run "$W/run" env HEAPGUARD="$HG" CTEST="$HG_CTEST" sh "$ex/run-tests.sh" "$W/build" "$W/out"
  [ "$status" != 0 ] || fail "run-tests.sh: status 0, expected the buggy test to fail"
  grep -qE "test_upper \.+ +Passed" "$W/run" || fail "test_upper did not pass: $(cat "$W/run")"
  grep -qE "test_join \.+.*(Failed|aborted)" "$W/run" || fail "test_join did not fail: $(cat "$W/run")"
  [ "$(count_files "$W/out/logs" '*')" = 1 ] || fail "expected one log: $(ls "$W/out/logs")"
  expect_in "$W/run" "---- heapguard report: $W/out/logs/heapguard." "run-tests.sh prints the report"
  expect_in "$W/run" "ERROR: heapguard: heap-buffer-overflow in free(" "the report"
  expect_in "$W/run" "1 byte written past the end of a 10-byte block" "the report"
  expect_in "$W/run" "in join_words" "the report names where the block was allocated"
  expect_in "$W/run" "join_words: ok" "the test's own output, before heapguard ended it"
  local log
  log=$(echo "$W"/out/logs/heapguard.*)
  expect_in "$log" "SUMMARY: heapguard: heap-buffer-overflow in main" "the log"
  [ "$(count_files "$W/out/dumps" '*.hgdump')" = 1 ] || fail "expected one dump"
  for f in "$W"/out/dumps/*.hgdump; do
    [ -s "$f.html" ] || fail "no decoded page $f.html"
    expect_in "$f.txt" "verdict: DAMAGE FOUND" "the decoded dump"
  done

  # The commands of the GitHub Actions job, as its runner would run them,
  # with this build's heapguard in PATH (reading the YAML needs PyYAML).
  if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "note: python3 has no yaml module (python3-yaml): heapguard.yml not run"
    return
  fi
  python3 - "$ex/heapguard.yml" "$W/steps" <<'EOF' || { fail "heapguard.yml"; return; }
import os, sys, yaml
job = yaml.safe_load(open(sys.argv[1]))["jobs"]["tests-under-heapguard"]
os.makedirs(sys.argv[2])
for i, step in enumerate(job["steps"]):
    if "run" in step and step["name"] != "Build and install heapguard":
        with open(os.path.join(sys.argv[2], "%d.sh" % i), "w") as f:
            f.write(step["run"])
uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
assert uploads and uploads[0]["with"]["path"].startswith("heapguard-out"), uploads
EOF
  cp -r "$ex/project" "$W/checkout"
  local step steps_failed=0 path_with_hg
  path_with_hg=$(dirname "$HG"):$(dirname "$HG_CMAKE"):$PATH
  for step in "$W"/steps/*.sh; do
    (cd "$W/checkout" && PATH=$path_with_hg bash --noprofile --norc -eo pipefail "$step") \
      >>"$W/steps.out" 2>&1 || steps_failed=$((steps_failed + 1))
  done
  # Only the test step fails: test_join.
  expect_status 1 "$steps_failed" "steps of heapguard.yml that failed"
  [ "$(count_files "$W/checkout/heapguard-out/logs" '*')" = 1 ] || fail "heapguard.yml: no log"
  [ "$(count_files "$W/checkout/heapguard-out/dumps" '*.html')" = 1 ] ||
    fail "heapguard.yml: no decoded dump"
  expect_in "$W/steps.out" "ERROR: heapguard: heap-buffer-overflow" "heapguard.yml shows the report"
}

# After `cmake --install`, the installed command finds the installed
# library and inspector, and pkg-config the installed library and headers,
# also when the prefix moved (DESTDIR staging).
case_install() {
  local prefix=$W/prefix
  run "$W/install.out" "$HG_CMAKE" --install "$HG_BUILD_DIR" --prefix "$prefix"
  expect_status 0 "$status" "cmake --install"
  [ -x "$prefix/bin/heapguard" ] || { fail "no $prefix/bin/heapguard"; return; }
  run "$W/version" "$prefix/bin/heapguard" --version
  expect_status 0 "$status" "installed --version"
  grep -qE "^library   $prefix/lib[^ ]*/libheapguard\.so\.0$" "$W/version" ||
    fail "installed wrapper does not use the installed library: $(cat "$W/version")"
  expect_in "$W/version" "inspector $prefix/bin/heapguard-inspect" "installed inspector"
  run "$W/probe" env PATH="$prefix/bin:$PATH" heapguard -- "$HG_PROBE"
  expect_status 0 "$status" "installed wrapper runs the probe"
  expect_in "$W/probe" "active=1" "installed wrapper: heapguard is the allocator"
  expect_in "$W/probe" "LD_PRELOAD=$prefix/lib" "installed wrapper preloads the installed library"
  pkg_config_consumer "$prefix" installed
  local page
  for page in man1/heapguard.1 man1/heapguard-inspect.1 man3/heapguard.3; do
    [ -f "$prefix/share/man/$page" ] || fail "no $prefix/share/man/$page"
  done
  if command -v man >/dev/null 2>&1; then
    run "$W/man" env MANPATH="$prefix/share/man" man -P cat 3 heapguard
    expect_in "$W/man" "__heapguard_default_options" "man 3 heapguard from the installed tree"
  fi
  [ -f "$prefix/share/heapguard/leaks-at-exit.supp" ] || fail "no installed leaks-at-exit.supp"
  mkdir -p "$W/moved"
  mv "$prefix" "$W/moved/"
  run "$W/moved.out" "$W/moved/prefix/bin/heapguard" -- "$HG_PROBE"
  expect_in "$W/moved.out" "active=1" "moved install tree"
  run "$W/moved-inspect" "$W/moved/prefix/bin/heapguard" inspect --help
  expect_status 0 "$status" "moved install tree: inspect"
  pkg_config_consumer "$W/moved/prefix" moved
}

# pkg_config_consumer PREFIX NAME: a program built with the flags of
# PREFIX's heapguard.pc links the installed library and runs on it.
pkg_config_consumer() {
  local pc flags libdir
  pc=$(dirname "$(find "$1" -name heapguard.pc | head -1)")
  [ -f "$pc/heapguard.pc" ] || { fail "$2: no heapguard.pc under $1"; return; }
  flags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs heapguard) || fail "$2: pkg-config"
  libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir heapguard)
  [ -f "$libdir/libheapguard.so" ] || fail "$2: pkg-config's libdir $libdir has no libheapguard.so"
  cat >"$W/consumer.c" <<'EOF'
#include <heapguard.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
  char *p = malloc(10);
  printf("consumer of heapguard %s: active=%d\n", heapguard_version(), heapguard_active());
  free(p);
  return 0;
}
EOF
  # shellcheck disable=SC2086 # the flags are words on purpose
  "$HG_CC" -o "$W/consumer-$2" "$W/consumer.c" $flags >"$W/consumer-$2.cc" 2>&1 ||
    { fail "$2: cc with pkg-config's flags: $(cat "$W/consumer-$2.cc")"; return; }
  run "$W/consumer-$2.out" env LD_LIBRARY_PATH="$libdir" "$W/consumer-$2"
  expect_status 0 "$status" "$2: the pkg-config consumer"
  expect_in "$W/consumer-$2.out" "consumer of heapguard $HG_VERSION: active=1" \
    "$2: the pkg-config consumer"
}

# Builds the suite does not otherwise make, under the project's -Werror:
# clang (with a unit test that links the library's LTO objects), and a
# Release build, whose -O3 warns where -O2 does not.
build_and_run_units() { # NAME CC CXX CMAKE_ARGS...
  local name=$1 cc=$2 cxx=$3
  shift 3
  run "$W/$name.configure" env CC="$cc" CXX="$cxx" "$HG_CMAKE" -S "$HG_SOURCE_DIR" -B "$W/$name" "$@"
  expect_status 0 "$status" "$name: configure"
  run "$W/$name.build" "$HG_CMAKE" --build "$W/$name" -j2 --target heapguard heapguard-inspect \
    test_heap test_inspect
  expect_status 0 "$status" "$name: build (see $W/$name.build)"
  [ "$status" = 0 ] || return
  run "$W/$name.unit" "$W/$name/tests/test_heap"
  expect_status 0 "$status" "$name: unit_heap"
}

case_other_builds() {
  if command -v clang >/dev/null 2>&1; then
    build_and_run_units clang clang clang++
  else
    echo "clang is not installed: only the Release build"
  fi
  build_and_run_units release "$HG_CC" g++ -DCMAKE_BUILD_TYPE=Release
}

case_shellcheck() {
  command -v shellcheck >/dev/null 2>&1 || skip "shellcheck is not installed"
  shellcheck -s sh "$HG_SOURCE_DIR/tools/heapguard.in" || fail "shellcheck tools/heapguard.in"
  shellcheck "$HG_SOURCE_DIR/examples/ci/run-tests.sh" || fail "shellcheck run-tests.sh"
  shellcheck "$HG_SOURCE_DIR/tests/cli/cli_test.sh" || fail "shellcheck cli_test.sh"
  shellcheck -s sh "$HG" || fail "shellcheck the configured wrapper"
}

if ! declare -F "case_$case_name" >/dev/null; then
  echo "cli_test.sh: no case '$case_name'" >&2
  exit 2
fi
"case_$case_name"
if [ "$failures" -gt 0 ]; then
  echo "$case_name: $failures failure(s); files in $W" >&2
  exit 1
fi
echo "$case_name: ok"
