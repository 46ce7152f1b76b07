#!/usr/bin/env bash
# Installs every system package ssm-mlir needs (Debian 12, LLVM/MLIR 22 from
# the configured Debian sources). Idempotent; silent when nothing is missing.
set -euo pipefail

packages=(
  # compiler infrastructure
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22
  # build
  cmake ninja-build ccache
  # tests: Debian's interpreter and numpy (PyPI is not reachable), gtest,
  # pytest
  python3 python3-numpy libgtest-dev python3-pytest
  # tests: the tokenizer's reference runs GPT-2's pattern with the regex module
  python3-regex
  # the ssm_mlir Python package (pybind11 over the C++ API)
  python3-dev pybind11-dev
  # OpenMP runtime for the threaded CPU code
  libomp-22-dev
  # benchmarks: peak memory
  time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "bootstrap: need root to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
