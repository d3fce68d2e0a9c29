#!/usr/bin/env bash
# Flywheel's in-process sampler against its OpenAI sampler (sampling.backend openai) driving llama.cpp's llama-server:
# one server with 64 slots, and two servers with 32 slots each, the same threads in total (THREADS, default 2) for
# every setup. The sampling bench's workload: its default model and 64 prompts (Flywheel.Llama.Bench --save-model /
# --save-prompts) × K=8 × up to 128 new tokens, temperature 0.8, top-k 40, top-p 0.95, min-p 0.05; each prompt the
# user message of a chat, the model's template applied by Flywheel on both sides (the completions route sends token
# ids), so both sample the same prompt tokens. Generated tokens/s: in process, the candidates' tokens as Flywheel
# counts them; on the servers, their `llamacpp:tokens_predicted_total` counters before and after (Flywheel's own count
# of a remote candidate is of its text re-tokenized where llama-server's logprobs left split UTF-8 tokens out, which
# this random model's byte soup makes common), over the sampler's time from first request to last answer.
# Each request asks for n=8; the sampler keeps 2 × slots / 8 requests in flight per server (the next ones queue in the
# server). Rounds are interleaved (in process, one server, two servers), medians reported.
#
# usage: bench/openai-sampler-compare.sh [rounds]     (ROUNDS=3 by default; THREADS=2; needs dotnet, python3, and what
#                                                      bench/llama-server-build.sh needs on its first run)
set -euo pipefail

ROUNDS=${1:-${ROUNDS:-3}}
THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K=8 NEW_TOKENS=128 SLOTS=64
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flywheel-openai-bench-XXXXXX")
PIDS=()

stop_servers() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
cleanup() { stop_servers; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/llama-server-bench.sh
source "$ROOT/bench/llama-server-bench.sh"

log "dotnet build -c Release bench/Flywheel.Llama.Bench bench/Flywheel.Pipeline.Bench"
for p in Llama Pipeline; do
    dotnet build -c Release "$ROOT/bench/Flywheel.$p.Bench" >"$WORK/dotnet-build.log" || { cat "$WORK/dotnet-build.log" >&2; exit 1; }
done
LB=$ROOT/bench/Flywheel.Llama.Bench/bin/Release/net10.0/Flywheel.Llama.Bench.dll
PB=$ROOT/bench/Flywheel.Pipeline.Bench/bin/Release/net10.0/Flywheel.Pipeline.Bench.dll
MODEL=$WORK/bench.gguf PROMPTS=$WORK/prompts.json
dotnet "$LB" --save-model "$MODEL" --save-prompts "$PROMPTS"
COMMON=(--model "$MODEL" --prompts "$PROMPTS" --k "$K" --new-tokens "$NEW_TOKENS" --sequences "$SLOTS")

# predicted: the servers' generated tokens so far, summed
predicted() {
    local url total=0 n
    for url in "${PORTS[@]}"; do
        n=$(curl -sf "${url%/v1}/metrics" | awk '/^llamacpp:tokens_predicted_total/ {print $2}')
        total=$(echo "$total $n" | awk '{print $1 + $2}')
    done
    echo "$total"
}


# start_servers COUNT: COUNT fresh servers sharing SLOTS slots and THREADS threads; sets URLS.
start_servers() {
    local count=$1 slots=$((SLOTS / $1)) threads=$((THREADS / $1)) i port urls=()
    ((threads >= 1)) || threads=1
    for ((i = 0; i < count; i++)); do
        port=$(free_port)
        "$BIN/llama-server" -m "$MODEL" --alias policy -np "$slots" -c $((slots * 512)) -t "$threads" -tb "$threads" -b 512 -ub 512 --metrics \
            --host 127.0.0.1 --port "$port" >"$WORK/server-$i.log" 2>&1 &
        PIDS+=($!)
        wait_for_llama_server "${PIDS[-1]}" "$port" "$WORK/server-$i.log"
        urls+=("http://127.0.0.1:$port/v1")
    done
    URLS=$(IFS=,; echo "${urls[*]}")
    PORTS=("${urls[@]}")
    CONCURRENCY=$((2 * slots / K))
}

LOCAL=() ONE=() TWO=()
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r/$ROUNDS: in process, $THREADS threads"
    LOCAL+=("$(dotnet "$PB" --sampler local "${COMMON[@]}" --threads "$THREADS")")
    for servers in 1 2; do
        start_servers "$servers"
        log "round $r/$ROUNDS: OpenAI sampler, $servers llama-server(s) ($URLS)"
        before=$(predicted)
        result=$(dotnet "$PB" --sampler openai "${COMMON[@]}" --endpoints "$URLS" --concurrency "$CONCURRENCY" 2>"$WORK/sampler.log") \
            || { cat "$WORK/sampler.log" >&2; exit 1; }
        after=$(predicted)
        stop_servers
        # "tok/s tokens seconds" by the servers' count, over the sampler's seconds
        result=$(echo "$before $after ${result##* }" | awk '{printf "%.1f %d %s", ($2 - $1) / $3, $2 - $1, $3}')
        if ((servers == 1)); then ONE+=("$result"); else TWO+=("$result"); fi
    done
    log "round $r: in process ${LOCAL[-1]%% *}, one server ${ONE[-1]%% *}, two servers ${TWO[-1]%% *} tok/s"
done

loc=$(median "${LOCAL[@]}") one=$(median "${ONE[@]}") two=$(median "${TWO[@]}")
echo
echo "workload: 64 prompts × n=$K × up to $NEW_TOKENS new tokens, $SLOTS sequences, $THREADS threads in all; medians of $ROUNDS interleaved rounds"
echo "rounds (tok/s tokens seconds) in process: ${LOCAL[*]}; one server: ${ONE[*]}; two servers: ${TWO[*]}"
printf '%-52s %10.0f generated tok/s   1.00\n' "Flywheel in process (shared prompt KV)" "$loc"
printf '%-52s %10.0f generated tok/s   %.2f× in process\n' "OpenAI sampler → 1 llama-server $VERSION ($SLOTS slots)" "$one" "$(echo "$one $loc" | awk '{print $1/$2}')"
printf '%-52s %10.0f generated tok/s   %.2f× in process\n' "OpenAI sampler → 2 llama-servers ($((SLOTS / 2)) slots each)" "$two" "$(echo "$two $loc" | awk '{print $1/$2}')"
