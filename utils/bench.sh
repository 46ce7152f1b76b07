#!/usr/bin/env bash
# Sets up, builds, and runs the benchmarks: bench/run.py (compiled scan vs
# reference lowering vs plain C++, and the conv, in one run), then
# bench/parallel_scan.py (sequential vs time-parallel scans, 1 and 2 threads).
# Pass --quick for the reference shape only (and no time-parallel run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/utils/bootstrap.sh"
"$root/utils/build.sh" >/dev/null
g++ -O3 -march=native -o "$root/build/bin/plain_scan" "$root/bench/plain_scan.cpp"
/usr/bin/python3 "$root/bench/run.py" --tools "$root/build/bin" \
  --plain "$root/build/bin/plain_scan" "$@"
if [[ " $* " != *" --quick "* ]]; then
  echo
  /usr/bin/python3 "$root/bench/parallel_scan.py" --tools "$root/build/bin"
fi
