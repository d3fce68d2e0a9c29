# llama.cpp v0.5.0's llama-server and llama-batched-bench, from the source bundle inside the npm package
# node-llama-cpp@3.22.1 (llama/gitRelease.bundle), fetched and built once (~5 min on 2 cores) into
# ${XDG_CACHE_HOME:-$HOME/.cache}/flywheel/llama-server-v0.5.0/. The package is fetched over plain HTTP from the npm
# registry npm is configured with ($npm_config_registry, ~/.npmrc, else registry.npmjs.org); npm itself is not needed.
# Sourced (by the llama-server benches), it sets BIN (the binaries' folder) and puts it on LD_LIBRARY_PATH; run (by
# the tests' LlamaServerBuild fixture), it prints BIN. Needs curl, tar, git, cmake and a C++ compiler.
[[ ${BASH_SOURCE[0]} == "$0" ]] && set -euo pipefail
VERSION=v0.5.0
NLC_VERSION=3.22.1
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/flywheel
BIN=$CACHE/llama-server-$VERSION
SRC=$CACHE/src/llama.cpp-$VERSION
# Built for this CPU, but without AVX512-FP16: with it, ggml's f16 dot products step 128 halves at a time, so a head of
# 64 (Llama 3.2 1B, Qwen 2.5 0.5B, the bench models) runs wholly in their scalar tail, which made this build's
# attention 3× slower on this machine's CPU (bench/README.md). GCC keeps an explicit -mno-* over -march=native.
FLAGS="-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DCMAKE_C_FLAGS=-mno-avx512fp16 -DCMAKE_CXX_FLAGS=-mno-avx512fp16 -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON"

npm_registry() {
    if [[ -n ${npm_config_registry:-} ]]; then echo "$npm_config_registry"; return; fi
    local line; line=$(grep -s '^registry=' "$HOME/.npmrc" | head -1 || true)
    echo "${line#registry=}" | grep . || echo https://registry.npmjs.org/
}

# A build with other flags (an earlier version of this script) is built again.
if [[ ! -x $BIN/llama-server || ! -x $BIN/llama-batched-bench || $(cat "$BIN/cmake-flags" 2>/dev/null) != "$FLAGS" ]]; then
    mkdir -p "$CACHE/src"
    if [[ ! -d $SRC/.git ]]; then
        tgz=$CACHE/src/node-llama-cpp-$NLC_VERSION.tgz
        if [[ ! -f $tgz ]]; then
            url="$(npm_registry | sed 's#/*$##')/node-llama-cpp/-/node-llama-cpp-$NLC_VERSION.tgz"
            echo "[$(date -u +%H:%M:%S)] GET $url" >&2
            curl -sSfL "$url" -o "$tgz.partial" && mv "$tgz.partial" "$tgz"
        fi
        unpacked=$(mktemp -d "${TMPDIR:-/tmp}/flywheel-llama-src-XXXXXX")
        tar -xzf "$tgz" -C "$unpacked" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
        grep -q "\"$VERSION\"" "$unpacked/package/llama/llama.cpp.info.json" || { echo "node-llama-cpp@$NLC_VERSION does not bundle llama.cpp $VERSION" >&2; exit 1; }
        git clone -q "$unpacked/package/llama/gitRelease.bundle" "$SRC"
        rm -rf "$unpacked"
    fi
    echo "[$(date -u +%H:%M:%S)] building llama-server and llama-batched-bench in $SRC/build (~5 min on 2 cores)" >&2
    # shellcheck disable=SC2086
    cmake -S "$SRC" -B "$SRC/build" $FLAGS >"$CACHE/src/cmake-configure.log" 2>&1 ||
        { tail -40 "$CACHE/src/cmake-configure.log" >&2; exit 1; }
    cmake --build "$SRC/build" --target llama-server llama-batched-bench -j"$(nproc)" >"$CACHE/src/cmake-build.log" 2>&1 ||
        { tail -40 "$CACHE/src/cmake-build.log" >&2; exit 1; }
    # the binaries and the shared libraries they link (they run with LD_LIBRARY_PATH=$BIN); staged, so that an
    # interrupted copy is never taken for a build
    rm -rf "$BIN.partial"; cp -a "$SRC/build/bin/." "$BIN.partial"; echo "$FLAGS" >"$BIN.partial/cmake-flags"
    rm -rf "$BIN"; mv "$BIN.partial" "$BIN"
fi
export LD_LIBRARY_PATH=$BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then echo "$BIN"; fi
