#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job: for now the JIT runner
# on selective-scan programs (the Mamba-130m layer shape and an S6 layer with
# every option), each checked against the float64 reference.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/utils/bootstrap.sh"
"$root/utils/build.sh"
exec /usr/bin/python3 "$root/utils/demo.py" --tools "$root/build/bin"
