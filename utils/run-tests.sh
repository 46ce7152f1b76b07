#!/usr/bin/env bash
# Sets everything up, builds, and runs every test (lit: dialect, passes,
# pipelines, tools and integration; gtest unit tests). Ends with
# "N passed, N failed"; exits non-zero on any failure.
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
[ "$unsupported" -gt 0 ] && echo "($unsupported unsupported on this machine: a lit feature they need is missing)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
