#!/bin/bash
# Runs on a lent NVIDIA GPU machine (the device tool), from the repository
# root, with .gpu/ from utils/device/pack.sh carried along:
#
#   utils/device/check.sh [STEP]...    (default: smoke tests bench; in order)
#
# smoke: one small scan with --target nvptx against the CPU target.
# tests: the GPU execution tests, i.e. what lit runs when it finds the
#   cuda-gpu feature: test/Integration/GPU/selective-scan.py, the CPU
#   integration scripts with SSM_TEST_NVPTX=1 (their scan and conv cases also
#   on the GPU), and the research tasks of test/Integration/GPU/tasks.test
#   (its FileCheck lines checked with grep: that machine has no FileCheck).
# model: a Mamba-130m-shaped model on the CPU and nvptx targets, the latter
#   also with every op as a kernel (bench/mamba_model.py --targets
#   cpu,nvptx,nvptx-all).
# projections: bench/gpu_projections.py, the projections at Mamba-130m's
#   prefill shapes as the tiled matrix product, as a warp per output, and
#   through torch.matmul.
# bench: bench/gpu.py; bench-quick: the reference shape only. SSM_BENCH_VARIANTS
# (e.g. 8x128,8x256) adds kernel shapes to time (bench/gpu.py --variants).
# Logs and results go to $OUT (the device tool brings them back): steps.log,
# and the benchmark's results.json and Nsight Compute reports.
set -uo pipefail
root=$(pwd)
out=${OUT:-/tmp/ssm-device-out}
mkdir -p "$out"
what=$*
py=python3
fails=0

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total --format=csv

# ssm-run and the libraries it loads, at the paths compiled into it.
bin=/tmp/ssm-bin
mkdir -p "$bin"
xz -dc .gpu/ssm-run.xz > "$bin/ssm-run" || $py -c \
  "import lzma,shutil; shutil.copyfileobj(lzma.open('.gpu/ssm-run.xz'), open('$bin/ssm-run','wb'))"
chmod +x "$bin/ssm-run"
while read -r dest file; do
  mkdir -p "$(dirname "$dest")"
  cp ".gpu/lib/$file" "$dest"
done < .gpu/paths.txt
"$bin/ssm-run" --help > /dev/null || { echo "ssm-run does not start"; exit 1; }

export SSM_TOOLS_DIR=$bin PYTHONPATH=$root/test/lib PYTHONUNBUFFERED=1

# Each step's log goes to /tmp/ssm-logs and is appended to $OUT/steps.log
# (the device tool brings back at most 8 files).
logs=/tmp/ssm-logs
mkdir -p $logs
step() { # name, command...
  local name=$1; shift
  local t0=$SECONDS
  "$@" > "$logs/$name.log" 2>&1
  local rc=$?
  { echo "==== $name: exit $rc, $((SECONDS - t0)) s"; cat "$logs/$name.log"; } >> "$out/steps.log"
  tail -n 3 "$logs/$name.log"
  echo "== $name: exit $rc, $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || fails=$((fails + 1))
}

tasks() {
  local r=0
  for args in "induction --seq-len 3,257,4096 --examples 4" \
      "keep-nth --seq-len 7,300,5000 --n 7,150,4999 --examples 4" \
      "mqar --mixer mamba,mamba2,s4d --vocab 64 --seq-len 16,100 --kv-pairs 1,4 --no-filler --examples 4" \
      "haar --states 4,16 --samples 256"; do
    # shellcheck disable=SC2086
    o=$("$bin/ssm-run" task $args --target nvptx 2>&1); rc=$?
    echo "$o"
    if [ $rc -ne 0 ] || echo "$o" | grep -q FAIL || ! echo "$o" | grep -q "target: nvptx.*verdict: PASS"; then
      echo "FAILED: task $args"; r=1
    fi
  done
  return $r
}

smoke() {
  local d=/tmp/ssm-smoke
  mkdir -p $d
  $py -c "
import numpy as np
r = np.random.default_rng(0)
x = dict(u=r.standard_normal((2, 5, 300)), delta=r.uniform(-4, 1, (2, 5, 300)),
         A=-np.exp(r.uniform(-2, 1.5, (5, 16))), B=r.standard_normal((2, 16, 300)),
         C=r.standard_normal((2, 16, 300)))
for k, v in x.items():
    np.save('$d/' + k + '.npy', v.astype(np.float32))
" || return 1
  local args=(scan --u $d/u.npy --delta $d/delta.npy --A $d/A.npy --B $d/B.npy --C $d/C.npy --delta-softplus)
  "$bin/ssm-run" "${args[@]}" --out $d/cpu.npy || return 1
  "$bin/ssm-run" "${args[@]}" --out $d/gpu.npy --target nvptx || return 1
  $py -c "
import numpy as np
a, b = np.load('$d/cpu.npy'), np.load('$d/gpu.npy')
e = np.linalg.norm(a - b) / np.linalg.norm(a)
print('nvptx against cpu: normwise %.2e' % e)
assert e < 1e-5
"
}

for s in ${what:-smoke tests bench}; do
  case $s in
    smoke) step smoke smoke; cat "$logs/smoke.log" ;;
    tests)
      step gpu-selective-scan $py test/Integration/GPU/selective-scan.py nvptx
      step gpu-selective-scan-states2 $py test/Integration/GPU/selective-scan.py nvptx \
        --gpu-states 2
      step gpu-selective-scan-prefetch $py test/Integration/GPU/selective-scan.py nvptx \
        --gpu-prefetch --gpu-states 2 --gpu-items 8
      step gpu-selective-scan-channels $py test/Integration/GPU/selective-scan.py nvptx \
        --gpu-scan channels
      step gpu-selective-scan-channel-pairs $py test/Integration/GPU/selective-scan.py nvptx \
        --gpu-scan channels --gpu-channel-threads 2
      for f in test/Integration/CPU/*.py; do
        grep -q "GPU_LOWERINGS\|SCAN_LOWERINGS" "$f" || continue
        step "cpu-$(basename "$f" .py)" env SSM_TEST_NVPTX=1 $py "$f"
      done
      step gpu-tasks tasks ;;
    bench|bench-quick)
      nvcc -O3 -arch=sm_90 -o /tmp/gpu_exp_peak bench/gpu_exp_peak.cu || fails=$((fails + 1))
      q=; [ $s = bench-quick ] && q=--quick
      step bench $py bench/gpu.py --ssm-run "$bin/ssm-run" --exp-peak /tmp/gpu_exp_peak \
        --out "$out" --variants "${SSM_BENCH_VARIANTS:-}" $q
      cat "$logs/bench.log" ;;
    projections)
      step projections $py bench/gpu_projections.py --ssm-run "$bin/ssm-run" --out "$out"
      cat "$logs/projections.log" ;;
    model)
      # A Mamba-130m-shaped model end to end, prefill of 2048 tokens and 16
      # decoding steps, on the CPU target, on nvptx (scan and conv kernels,
      # the host's fast paths) and on nvptx with --gpu-all-kernels (every op
      # a kernel, intermediates on the device), every core.
      step model $py bench/mamba_model.py --tools "$bin" --parts model --targets cpu,nvptx,nvptx-all \
        --threads "$(nproc)" --decode 16 --no-torch
      cat "$logs/model.log" ;;
    *) echo "unknown step $s"; exit 2 ;;
  esac
done
echo "device check: $fails step(s) failed"
[ $fails -eq 0 ]
