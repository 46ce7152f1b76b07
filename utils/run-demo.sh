#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job (utils/demo.py): the
# research tasks of tasks.md through `ssm-run task` on the CPU (induction
# heads, KEEP n-TH, MQAR with the three mixers and compressed codes, Haar
# approximation, polynomial expressivity), then compiled selective scans
# checked against the float64 reference; a summary table at the end. About
# a minute on 2 cores after the build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/utils/bootstrap.sh"
"$root/utils/build.sh"
exec /usr/bin/python3 "$root/utils/demo.py" --tools "$root/build/bin"
