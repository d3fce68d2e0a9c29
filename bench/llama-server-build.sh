# Sourced by the llama-server benches: llama.cpp v0.5.0's llama-server and llama-batched-bench, from the source bundle
# inside the npm package node-llama-cpp@3.22.1 (llama/gitRelease.bundle), fetched and built once (~5 min on 2 cores)
# into ${XDG_CACHE_HOME:-$HOME/.cache}/flywheel/llama-server-v0.5.0/ — the folder the tests' LlamaServerBuild fixture
# (tests/Flywheel.Cli.Tests) finds or builds the same way. The package is fetched over plain HTTP from the npm
# registry npm is configured with ($npm_config_registry, ~/.npmrc, else registry.npmjs.org); npm itself is not needed.
# Sets BIN (the binaries' folder) and puts it on LD_LIBRARY_PATH. Needs curl, tar, git, cmake and a C++ compiler.
VERSION=v0.5.0
NLC_VERSION=3.22.1
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/flywheel
BIN=$CACHE/llama-server-$VERSION
SRC=$CACHE/src/llama.cpp-$VERSION

npm_registry() {
    if [[ -n ${npm_config_registry:-} ]]; then echo "$npm_config_registry"; return; fi
    local line; line=$(grep -s '^registry=' "$HOME/.npmrc" | head -1 || true)
    echo "${line#registry=}" | grep . || echo https://registry.npmjs.org/
}

if [[ ! -x $BIN/llama-server || ! -x $BIN/llama-batched-bench ]]; then
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
    cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >"$CACHE/src/cmake-configure.log"
    cmake --build "$SRC/build" --target llama-server llama-batched-bench -j"$(nproc)" >"$CACHE/src/cmake-build.log"
    # the binaries and the shared libraries they link (they run with LD_LIBRARY_PATH=$BIN); staged, so that an
    # interrupted copy is never taken for a build
    rm -rf "$BIN.partial"; cp -a "$SRC/build/bin/." "$BIN.partial"; mv "$BIN.partial" "$BIN"
fi
export LD_LIBRARY_PATH=$BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
