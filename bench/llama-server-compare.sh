#!/usr/bin/env bash
# Flywheel's in-process sampler against llama.cpp's own llama-server (over HTTP) and llama-batched-bench (the engine's
# ceiling) on the same workload: the sampling bench's model and prompts (64 prompts × K=8 × up to 128 new tokens,
# temperature 0.8, top-k 40, top-p 0.95, min-p 0.05), 1 thread for every engine. Rounds are interleaved (Flywheel,
# sharing each prompt's KV and evaluating it per candidate, then a fresh llama-server), medians reported. Generated
# tokens/s: Flywheel counts its candidates' tokens; for the server, the `llamacpp:tokens_predicted_total` counter of
# /metrics before and after, over the time from the first request sent to the last response (its
# `usage.completion_tokens` counts one choice only when n > 1). The ceiling: the time llama-batched-bench's prompt and
# generation rates (64 sequences, the prompts' mean length, 128 new tokens) give for this workload's prompt tokens,
# each prompt once, and Flywheel's generated tokens.
#
# llama-server is llama.cpp v0.5.0 (tools/server) from the source bundle inside the npm package node-llama-cpp@3.22.1,
# fetched once over HTTP from the npm registry and built once (~5 min on 2 cores) by bench/llama-server-build.sh; the
# binaries are cached under ${XDG_CACHE_HOME:-$HOME/.cache}/flywheel/llama-server-v0.5.0/, where the tests find them.
#
# usage: bench/llama-server-compare.sh [rounds]       (ROUNDS=3 by default, SEPARATE=0 to leave out Flywheel's
#                                                      prompt-per-candidate mode; needs dotnet, cmake, a C++ compiler,
#                                                      git, curl (first run only), python3)
# Any further bench flags (e.g. --width 128 --layers 2 --heads 2 --kv-heads 1, or a real vocabulary:
# --vocab tests/Flywheel.Llama.Tests/TestData/vocab/ggml-vocab-llama-bpe.gguf --prompt-chars 1200) go in
# BENCH_MODEL_FLAGS; flags for Flywheel's timed runs and its ceiling (e.g. "--flash-attention 1") in FLYWHEEL_FLAGS;
# llama.cpp flags for both llama-server and llama-batched-bench (e.g. "-fa off") in LLAMA_FLAGS.
set -euo pipefail

ROUNDS=${1:-${ROUNDS:-3}}
LLAMA_FLAGS=${LLAMA_FLAGS:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K=8 NEW_TOKENS=128 SLOTS=64
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flywheel-server-bench-XXXXXX")
SERVER_PID=

cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- llama.cpp v0.5.0: llama-server and llama-batched-bench, built once (shared with the tests) ---
# shellcheck source=bench/llama-server-bench.sh
source "$ROOT/bench/llama-server-bench.sh"

# --- Flywheel's bench, its model and prompts ---
log "dotnet build -c Release bench/Flywheel.Llama.Bench"
dotnet build -c Release "$ROOT/bench/Flywheel.Llama.Bench" >"$WORK/dotnet-build.log" || { cat "$WORK/dotnet-build.log" >&2; exit 1; }
B=$ROOT/bench/Flywheel.Llama.Bench/bin/Release/net10.0/Flywheel.Llama.Bench.dll
MODEL=$WORK/bench.gguf PROMPTS=$WORK/prompts.json
# shellcheck disable=SC2086
dotnet "$B" ${BENCH_MODEL_FLAGS:-} --save-model "$MODEL" --save-prompts "$PROMPTS"
N_PROMPTS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$PROMPTS")
# The prompts' mean and longest length in tokens, from the bench's first line (its model's own tokenizer).
read -r PROMPT_MEAN PROMPT_MAX < <(dotnet "$B" --model "$MODEL" --prompts "$PROMPTS" --rounds 0 |
    sed -nE 's/.*prompts of ([0-9]+) tokens on average \(longest ([0-9]+)\).*/\1 \2/p')
SLOT_CONTEXT=$(( (PROMPT_MAX + NEW_TOKENS + 255) / 256 * 256 ))

# One llama-server round: a fresh server (no prompt cache left from an earlier round), all prompts in flight at once,
# each with n=K. Writes "tok_per_s tokens seconds" to $WORK/server.result (run in this shell, not a subshell, so that
# the EXIT trap knows the server's pid).
server_round() {
    local port; port=$(free_port)
    "$BIN/llama-server" -m "$MODEL" -np "$SLOTS" -c $((SLOTS * SLOT_CONTEXT)) -t 1 -tb 1 -b 512 -ub 512 --metrics ${LLAMA_FLAGS:-} \
        --host 127.0.0.1 --port "$port" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    wait_for_llama_server "$SERVER_PID" "$port" "$WORK/server.log"
    (python3 - "$port" "$PROMPTS" "$K" "$NEW_TOKENS" <<'PY'
import json, re, sys, threading, time, urllib.request
port, prompts, k, new_tokens = int(sys.argv[1]), json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
base = f"http://127.0.0.1:{port}"
def predicted():
    text = urllib.request.urlopen(base + "/metrics").read().decode()
    return float(re.search(r"^llamacpp:tokens_predicted_total\s+(\S+)", text, re.M).group(1))
def post(i, out):
    body = json.dumps({"prompt": prompts[i], "n": k, "max_tokens": new_tokens, "temperature": 0.8, "top_k": 40,
                       "top_p": 0.95, "min_p": 0.05, "samplers": ["top_k", "top_p", "min_p", "temperature"],
                       "seed": i, "stream": False}).encode()
    req = urllib.request.Request(base + "/v1/completions", body, {"Content-Type": "application/json"})
    out[i] = json.loads(urllib.request.urlopen(req, timeout=3600).read())
before = predicted()
out = [None] * len(prompts)
threads = [threading.Thread(target=post, args=(i, out)) for i in range(len(prompts))]
start = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
seconds = time.perf_counter() - start
tokens = predicted() - before
bad = [i for i, r in enumerate(out) if r is None or len(r.get("choices", [])) != k]
if bad: sys.exit(f"{len(bad)} requests failed or came back without {k} choices (first: {bad[0]})")
print(f"{tokens / seconds:.1f} {tokens:.0f} {seconds:.3f}")
PY
    ) >"$WORK/server.result"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

# One Flywheel round: prints "shared_tok_per_s per_candidate_tok_per_s generated_tokens" (per candidate "-" when
# SEPARATE=0, which leaves that mode out: with a large vocabulary it doubles a round's time).
flywheel_round() {
    dotnet "$B" --model "$MODEL" --prompts "$PROMPTS" ${FLYWHEEL_FLAGS:-} --executor 0 --separate "${SEPARATE:-1}" --threads 1 --rounds 1 \
        --k "$K" --new-tokens "$NEW_TOKENS" --sequences "$SLOTS" | tee "$WORK/flywheel.log" >&2
    local shared separate tokens
    shared=$(grep '^| Flywheel, prompt KV shared' "$WORK/flywheel.log" | awk -F'|' '{gsub(/[ ,]/, "", $3); print $3}')
    separate=$({ grep '^| Flywheel, prompt evaluated per candidate' "$WORK/flywheel.log" || true; } | awk -F'|' '{gsub(/[ ,]/, "", $3); print $3}')
    tokens=$(sed -nE 's/^round 1: .*\(([0-9,]+) tokens generated shared\)/\1/p' "$WORK/flywheel.log" | tr -d ,)
    echo "$shared ${separate:--} $tokens"
}

# llama-batched-bench at the prompts' mean length: prints "generation_tok_per_s prompt_tok_per_s sequences".
batched_bench_round() {
    # shellcheck disable=SC2086
    "$BIN/llama-batched-bench" -m "$MODEL" -c $((SLOTS * SLOT_CONTEXT)) -b 512 -ub 512 -npp "$PROMPT_MEAN" -ntg "$NEW_TOKENS" \
        -npl "$SLOTS" -t 1 -tb 1 ${LLAMA_FLAGS:-} --output-format jsonl >"$WORK/batched.log" 2>&1 || { cat "$WORK/batched.log" >&2; exit 1; }
    python3 -c '
import json, sys
rows = [json.loads(l[l.index("{"):]) for l in open(sys.argv[1]) if "\"speed_tg\"" in l]
if not rows: sys.exit("llama-batched-bench printed no result")
r = rows[-1]; print("%.1f %.1f %d" % (r["speed_tg"], r["speed_pp"], r["pl"]))' "$WORK/batched.log"
}

# The same measurement on the llama.cpp Flywheel runs (LLamaSharp's), by the sampling bench's --ceiling mode:
# prints "generation_tok_per_s prompt_tok_per_s".
own_ceiling_round() {
    dotnet "$B" --model "$MODEL" --prompts "$PROMPTS" ${FLYWHEEL_FLAGS:-} --threads 1 --sequences "$SLOTS" --new-tokens "$NEW_TOKENS" --ceiling 1 |
        sed -nE 's/.*: prompt ([0-9]+) tok\/s, generation ([0-9]+) tok\/s/\2 \1/p'
}

FLY=() SEP=() TOK=() SRV=() BB_TG=() BB_PP=() FC_TG=() FC_PP=()
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r/$ROUNDS: Flywheel"
    read -r f sep tok < <(flywheel_round)
    FLY+=("$f") SEP+=("$sep") TOK+=("$tok")
    log "round $r/$ROUNDS: llama-server"
    server_round
    s=$(cat "$WORK/server.result")
    SRV+=("${s%% *}")
    log "round $r/$ROUNDS: llama-batched-bench -npp $PROMPT_MEAN -ntg $NEW_TOKENS -npl $SLOTS -t 1 ${LLAMA_FLAGS:-}, then the same on LLamaSharp's llama.cpp"
    read -r bb_tg bb_pp bb_pl < <(batched_bench_round)
    read -r fc_tg fc_pp < <(own_ceiling_round)
    BB_TG+=("$bb_tg") BB_PP+=("$bb_pp") FC_TG+=("$fc_tg") FC_PP+=("$fc_pp")
    log "round $r: Flywheel $f tok/s, llama-server ${s%% *} tok/s ($(echo "$s" | awk '{print $2}') tokens in $(echo "$s" | awk '{print $3}') s), batched-bench $bb_tg (prompt $bb_pp), on LLamaSharp's llama.cpp $fc_tg (prompt $fc_pp)"
done

fly=$(median "${FLY[@]}") sep=$(median "${SEP[@]}") tok=$(median "${TOK[@]}") srv=$(median "${SRV[@]}")
bb_tg=$(median "${BB_TG[@]}") bb_pp=$(median "${BB_PP[@]}") fc_tg=$(median "${FC_TG[@]}") fc_pp=$(median "${FC_PP[@]}")
# The workload's time at a ceiling's rates: each prompt's tokens once, then the generated tokens.
ceiling_at() { echo "$tok $N_PROMPTS $PROMPT_MEAN $1 $2" | awk '{print $1 / ($2 * $3 / $4 + $1 / $5)}'; }
ceiling=$(ceiling_at "$bb_pp" "$bb_tg") own_ceiling=$(ceiling_at "$fc_pp" "$fc_tg")
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1/$2}'; }

echo
echo "workload: $N_PROMPTS prompts of $PROMPT_MEAN tokens on average × n=$K × up to $NEW_TOKENS new tokens, $SLOTS sequences, 1 thread, llama.cpp flags '${LLAMA_FLAGS}'; medians of $ROUNDS interleaved rounds"
echo "rounds: Flywheel shared ${FLY[*]}; per candidate ${SEP[*]}; llama-server ${SRV[*]}; batched-bench ${BB_TG[*]} (prompt ${BB_PP[*]}); on LLamaSharp's llama.cpp ${FC_TG[*]} (prompt ${FC_PP[*]})"
printf '%-52s %10.0f generated tok/s   1.00\n' "Flywheel in process (shared prompt KV)" "$fly"
if [[ $sep != - ]]; then
    printf '%-52s %10.0f generated tok/s   shared is %s×\n' "Flywheel in process (prompt per candidate)" "$sep" "$(ratio "$fly" "$sep")"
fi
printf '%-52s %10.0f generated tok/s   Flywheel is %s×\n' "llama-server $VERSION over HTTP (n=$K)" "$srv" "$(ratio "$fly" "$srv")"
printf '%-52s %10.0f generated tok/s   (prompt %.0f tok/s)\n' "llama-batched-bench $VERSION, $SLOTS sequences" "$bb_tg" "$bb_pp"
printf '%-52s %10.0f generated tok/s   Flywheel is %s× (%s generated tokens)\n' "ceiling for this workload at batched-bench's rates" "$ceiling" "$(ratio "$fly" "$ceiling")" "$tok"
printf '%-52s %10.0f generated tok/s   (prompt %.0f tok/s)\n' "the same decode loop on LLamaSharp's llama.cpp" "$fc_tg" "$fc_pp"
printf '%-52s %10.0f generated tok/s   Flywheel is %s×\n' "ceiling for this workload on LLamaSharp's llama.cpp" "$own_ceiling" "$(ratio "$fly" "$own_ceiling")"
