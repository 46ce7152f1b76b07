#!/usr/bin/env bash
# Configures (once) and builds ssm-mlir into build/ at the repository root.
# Extra arguments go to ninja (e.g. a target name).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"

if [ ! -f "$build/build.ninja" ]; then
  cxx=/usr/lib/llvm-22/bin/clang++ cc=/usr/lib/llvm-22/bin/clang
  [ -x "$cxx" ] || { cxx=g++; cc=gcc; }
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
ninja -C "$build" "$@"
