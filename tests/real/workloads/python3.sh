# shellcheck shell=bash
# python3 workload: allocation-heavy stdlib script, a threading script and,
# when the Debian test suite (libpython3.X-testsuite) is installed, a few
# stdlib regression tests.  Uses the Debian interpreter, not pyenv shims.
# requires: /usr/bin/python3
set -e
py=/usr/bin/python3

$py "$REAL_DATA/alloc_heavy.py"
$py "$REAL_DATA/threads.py"

tests="test_json test_re test_collections"
if $py -c "import test.libregrtest, test.${tests// /, test.}" 2>/dev/null; then
  # Only the verdict is printed: the full log has timings.  Anything from the
  # allocator still goes to stderr, where the driver looks for it.
  rc=0
  # shellcheck disable=SC2086  # a list of test names
  $py -m test $tests >regrtest.log 2>&1 || rc=$?
  grep -E '^(Tests result|Result): ' regrtest.log || true
  grep heapguard regrtest.log >&2 || true
  echo "regrtest exit $rc"
else
  echo "stdlib tests not installed: skipped"
fi
