#!/usr/bin/env bash
# Run here, before a GPU session's first `run`: fills .device/ (ignored by git, named in `carry`) with what the
# lent machine lacks. It has CUDA but no .NET, npm or internet, and takes at most 64 MiB per call:
#   .device/llama-bench/, .device/training-bench/  the engine and training benches, published self-contained and
#                         trimmed (no .NET needed there)
#   .device/llama.cpp/    llama.cpp's source at the commit of the pinned npm libraries, without the backends
#                         not built there (libggml-cuda.so itself is 159 MB: it is built there, see build-llama.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
version=3.22.1
out=.device
rm -rf "$out/llama.cpp"
mkdir -p "$out"

# Trimmed (13 MB each, against 39 MB untrimmed); without the npm CPU libraries (20 MB), which build-llama.sh replaces.
for bench in llama training; do
  project=bench/Flywheel.${bench^}.Bench
  rm -rf "$out/$bench-bench"
  dotnet publish "$project" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
    -p:EnableCompressionInSingleFile=true -p:PublishTrimmed=true -o "$out/$bench-bench" --nologo -v quiet
  rm -f "$out/$bench-bench/"lib*.so "$out/$bench-bench/"*.pdb
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-llama-cpp@$version" >/dev/null && tar -xzf node-llama-cpp-$version.tgz package/llama/gitRelease.bundle)
git clone -q "$work/package/llama/gitRelease.bundle" "$work/llama.cpp" 2>/dev/null
mkdir -p "$out/llama.cpp/ggml/src"
cp -r "$work/llama.cpp/"{CMakeLists.txt,cmake,include,src,vendor,licenses} "$out/llama.cpp/"
cp -r "$work/llama.cpp/ggml/"{CMakeLists.txt,cmake,include} "$out/llama.cpp/ggml/"
# ggml/src: its own files, the CPU backend and CUDA; the other backends' folders are only read when switched on.
find "$work/llama.cpp/ggml/src" -maxdepth 1 -type f -exec cp {} "$out/llama.cpp/ggml/src/" \;
cp -r "$work/llama.cpp/ggml/src/"{ggml-cpu,ggml-cuda} "$out/llama.cpp/ggml/src/"
du -sh "$out/"*
