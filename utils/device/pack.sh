#!/bin/bash
# Packs into .gpu/ what a lent GPU machine needs to run ssm-run with
# --target nvptx (docs/gpu.md, "On a lent GPU"). That machine has the NVIDIA
# driver, the CUDA toolkit and Python with numpy and PyTorch, but no LLVM or
# MLIR 22, and what travels with a device call is capped at 64 MiB: libMLIR
# and libLLVM alone are 250 MB. So ssm-run is relinked here from this build's
# objects against the static MLIR and LLVM archives (only the parts it uses),
# stripped and xz-compressed (about 24 MB), with the shared libraries the JIT
# loads at run time beside it.
#
#   utils/device/pack.sh [BUILD_DIR]      (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=$root/.gpu
llvm=/usr/lib/llvm-22/lib

command -v patchelf >/dev/null ||
  { echo "pack.sh needs patchelf (apt-get install patchelf)" >&2; exit 1; }
ninja -C "$build" ssm-run ssm_cuda_runtime
rm -rf "$out"
mkdir -p "$out/lib"

# The link line CMake uses for bin/ssm-run, its shared MLIR and LLVM replaced
# by the static archives (lld pulls in only the members it needs).
libs=$(sed -n '/^build bin\/ssm-run:/,/^$/s/^  LINK_LIBRARIES = //p' "$build/build.ninja")
ours=()
for l in $libs; do
  case "$l" in
    lib/*.a) ours+=("$build/$l") ;;
  esac
done
(cd "$build" && /usr/lib/llvm-22/bin/clang++ -O3 -fuse-ld=lld -Wl,--gc-sections \
  tools/ssm-run/CMakeFiles/ssm-run.dir/ssm-run.cpp.o "${ours[@]}" \
  -Wl,--start-group "$llvm"/libMLIR*.a "$llvm"/libLLVM*.a -Wl,--end-group \
  -static-libstdc++ -static-libgcc /usr/lib/x86_64-linux-gnu/libz.a \
  /usr/lib/x86_64-linux-gnu/libzstd.so.1 /usr/lib/x86_64-linux-gnu/libtinfo.a \
  -ldl -lpthread -o "$out/ssm-run")
strip "$out/ssm-run"
"$out/ssm-run" --help >/dev/null
xz -T0 -6 "$out/ssm-run"

# Loaded by path (the paths compiled into ssm-run, recorded in paths.txt).
# Debian's runner utilities name libMLIR and libLLVM as needed without
# using a symbol of theirs: drop those entries (patchelf).
cp "$build/lib/libssm_cuda_runtime.so" "$llvm/libomp.so.5" \
   "$llvm/libmlir_c_runner_utils.so.22.1" "$llvm/libmlir_float16_utils.so.22.1" "$out/lib/"
for f in libmlir_c_runner_utils.so.22.1 libmlir_float16_utils.so.22.1; do
  patchelf --remove-needed libMLIR.so.22.1 --remove-needed libLLVM.so.22.1 \
    --remove-needed libmlir_apfloat_wrappers.so.22.1 "$out/lib/$f"
done
# Where ssm-run looks for each: "<path compiled in> <file in .gpu/lib>".
sed -n 's/^  DEFINES = //p' "$build/build.ninja" | tr ' ' '\n' | tr -d '\\"' |
  sed -n 's/^-DSSM_\(CUDA_RUNTIME\|OPENMP\|C_RUNNER_UTILS\)_LIBRARY=//p' | sort -u |
  while read -r path; do
    case "$path" in
      *libssm_cuda_runtime*) echo "$path libssm_cuda_runtime.so" ;;
      *libomp*) echo "$path libomp.so.5" ;;
      *c_runner_utils*) echo "$path libmlir_c_runner_utils.so.22.1"
        echo "$(dirname "$path")/libmlir_float16_utils.so.22.1 libmlir_float16_utils.so.22.1" ;;
    esac
  done > "$out/paths.txt"
cat "$out/paths.txt"
du -sh "$out"
