#!/usr/bin/env bash
# Sets everything up, builds, and runs every test (lit: dialect, passes,
# pipelines, tools and integration; gtest unit tests; then pytest: the
# ssm_mlir Python package). Ends with "N passed, N failed" over both;
# exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/utils/bootstrap.sh"
"$root/utils/build.sh"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
/usr/bin/python3 /usr/lib/llvm-22/bin/lit -v --time-tests "$root/build/test" 2>&1 | tee "$log" \
  | grep -E '^(PASS|FAIL|XPASS|UNRESOLVED|TIMEOUT|UNSUPPORTED|XFAIL):|^\*\*\*\*|^Failed Tests|^  SSM'
lit_status=${PIPESTATUS[0]}
set -e

count() { grep -cE "^$1: " "$log" || true; }
passed=$(( $(count PASS) + $(count XFAIL) ))
failed=$(( $(count FAIL) + $(count XPASS) + $(count UNRESOLVED) + $(count TIMEOUT) ))
unsupported=$(count UNSUPPORTED)
if [ "$failed" -eq 0 ] && [ "$lit_status" -ne 0 ]; then
  echo "lit exited with status $lit_status without a failed test: see above" >&2
  failed=1
fi

# pytest: one result per test function and parameter set, counted from its
# JUnit report (failures and errors both count as failed).
junit="$(mktemp)"
trap 'rm -f "$log" "$junit"' EXIT
set +e
/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$junit" "$root/test/python" 2>&1 \
  | grep -vE '^\.*( *\[ *[0-9]+%\])?$|generated xml file'
pytest_status=${PIPESTATUS[0]}
set -e
read -r py_passed py_failed < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    suites = ET.parse(sys.argv[1]).getroot().iter("testsuite")
except Exception:
    print(0, 0)
    sys.exit()
tests = failed = skipped = 0
for s in suites:
    tests += int(s.get("tests", 0))
    failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
    skipped += int(s.get("skipped", 0))
print(tests - failed - skipped, failed)
PY
)
echo "pytest: $py_passed passed, $py_failed failed"
passed=$(( passed + py_passed ))
failed=$(( failed + py_failed ))
if [ "$py_failed" -eq 0 ] && [ "$pytest_status" -ne 0 ]; then
  echo "pytest exited with status $pytest_status without a failed test: see above" >&2
  failed=$(( failed + 1 ))
fi
[ "$unsupported" -gt 0 ] && echo "($unsupported unsupported on this machine: a lit feature they need is missing)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
