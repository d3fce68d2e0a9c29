#!/usr/bin/env bash
# Run on the lent GPU machine: builds llama.cpp from .device/llama.cpp (see prepare.sh) as shared libraries with the
# CUDA backend for Hopper (sm_90), and lays them out as Flywheel's loader expects: FLYWHEEL_NATIVE_DIR=<build>/native,
# with the CUDA set in its cuda/ folder. `--cpu` builds the CPU set alone, laid out in <build>/native itself: that is
# how this script is checked on a machine without a GPU.
# Usage: bench/device/build-llama.sh [--cpu] [BUILD_DIR]   (BUILD_DIR defaults to /tmp/llama-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
cuda=1
if [[ "${1:-}" == --cpu ]]; then cuda=0; shift; fi
build=${1:-/tmp/llama-build}
flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF
  -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_CURL=OFF)
# As in the npm packages: one CPU backend per instruction set, the best chosen at load time.
if ((cuda)); then flags+=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_CPU_ALL_VARIANTS=ON); fi
generator=(); if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S .device/llama.cpp -B "$build" "${generator[@]}" "${flags[@]}" >"$build.configure.log" 2>&1 \
  || { tail -20 "$build.configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" >"$build.build.log" 2>&1 || { grep -m5 -A5 -E "error|FAILED" "$build.build.log"; exit 1; }

# Links, not copies: the loader opens libllama and libggml by the npm packages' names, and libllama asks for
# libggml.so.0; through links both are one file, so the process holds one copy of ggml, not two.
native="$build/native"; dir=$native; suffix=""
if ((cuda)); then dir=$native/cuda; suffix=".cuda"; fi
mkdir -p "$dir"
for lib in "$build"/bin/lib*.so*; do ln -sf "$lib" "$dir/"; done
ln -sf "$build/bin/libllama.so" "$dir/libllama$suffix.v0.5.0.so"
ln -sf "$build/bin/libggml.so" "$dir/libggml$suffix.v0.5.0.so"
echo "FLYWHEEL_NATIVE_DIR=$native"
