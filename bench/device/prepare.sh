#!/usr/bin/env bash
# Run here, before a GPU session's first `run`: fills .device/ (ignored by git, named in `carry`) with the engine and
# training benches, published self-contained and trimmed (the lent machine has no .NET), with the natives the build
# copied. Build with -p:FlywheelCuda=true where LLamaSharp.Backend.Cuda12 can be restored, so they include llama.cpp's
# CUDA 12 libraries (too big for one call's 64 MiB? `du` below says).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
mkdir -p "$out"
for bench in llama training; do
  project=bench/Flywheel.${bench^}.Bench
  rm -rf "$out/$bench-bench"
  dotnet publish "$project" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
    -p:EnableCompressionInSingleFile=true -p:PublishTrimmed=true "$@" -o "$out/$bench-bench" --nologo -v quiet
  rm -f "$out/$bench-bench/"*.pdb
done
du -sh "$out/"*
