#!/usr/bin/env bash
# Sets up, builds, and runs the benchmarks: bench/run.py (compiled scan vs
# reference lowering vs plain C++ vs a hand-written AVX-512 kernel, and the
# conv, in one run), then
# bench/parallel_scan.py (sequential vs time-parallel scans, 1 and 2 threads),
# then bench/uniform_decay.py (scans with Mamba-2's one decay per channel),
# then bench/grouped_bc.py (grouped B/C whose groups split the vector tiles),
# then bench/mamba_model.py (projections, a decoding step, a Mamba-130m-shaped
# model against PyTorch, which it installs: Debian's python3-torch; and a
# BF16 checkpoint's decoding with 16-bit and widened matrices), then
# bench/python_bindings.py (the ssm_mlir package against ssm-run's timing of
# the same compiled programs) and bench/python_model.py (a language model's
# prefill and scoring from Python, with and without the buffer cache), then
# bench/compile_cache.py (whole runs with the compile cache off, empty and
# stored) and bench/compile_time.py (the time of compiling a task's block, a
# model and a scan).
# Pass --quick for the reference shape only (no time-parallel or model run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/utils/bootstrap.sh"
"$root/utils/build.sh" >/dev/null
g++ -O3 -march=native -o "$root/build/bin/plain_scan" "$root/bench/plain_scan.cpp"
# The hand-written AVX-512 kernel and the FMA peak, on AVX-512 machines only.
extra=()
if grep -qw avx512f /proc/cpuinfo; then
  g++ -O3 -march=native -fopenmp -o "$root/build/bin/avx512_scan" "$root/bench/avx512_scan.cpp"
  g++ -O3 -march=native -fopenmp -o "$root/build/bin/fma_peak" "$root/bench/fma_peak.cpp"
  extra=(--hand "$root/build/bin/avx512_scan" --peak "$root/build/bin/fma_peak")
fi
/usr/bin/python3 "$root/bench/run.py" --tools "$root/build/bin" \
  --plain "$root/build/bin/plain_scan" "${extra[@]}" "$@"
if [[ " $* " != *" --quick "* ]]; then
  echo
  /usr/bin/python3 "$root/bench/parallel_scan.py" --tools "$root/build/bin"
  echo
  /usr/bin/python3 "$root/bench/uniform_decay.py" --tools "$root/build/bin" \
    --plain "$root/build/bin/plain_scan"
  echo
  /usr/bin/python3 "$root/bench/grouped_bc.py" --tools "$root/build/bin"
  echo
  if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get install -y python3-torch >/dev/null || true
  fi
  /usr/bin/python3 "$root/bench/mamba_model.py" --tools "$root/build/bin" \
    --parts projections,step,model,weights16
  echo
  PYTHONPATH="$root/build/python" /usr/bin/python3 "$root/bench/python_bindings.py" \
    --tools "$root/build/bin"
  echo
  PYTHONPATH="$root/build/python" /usr/bin/python3 "$root/bench/python_model.py" \
    --tools "$root/build/bin"
  echo
  /usr/bin/python3 "$root/bench/compile_cache.py" --tools "$root/build/bin"
  echo
  /usr/bin/python3 "$root/bench/compile_time.py" --tools "$root/build/bin"
fi
