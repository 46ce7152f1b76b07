#!/usr/bin/env bash
# Sets up, builds, and runs the selective-scan benchmark (bench/run.py):
# compiled scan vs reference lowering vs plain C++, in one run.
# Pass --quick for the reference shape only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/utils/bootstrap.sh"
"$root/utils/build.sh" >/dev/null
g++ -O3 -march=native -o "$root/build/bin/plain_scan" "$root/bench/plain_scan.cpp"
exec /usr/bin/python3 "$root/bench/run.py" --tools "$root/build/bin" \
  --plain "$root/build/bin/plain_scan" "$@"
