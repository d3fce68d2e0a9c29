# Sourced by the benches that run llama-server (llama-server-compare.sh, openai-sampler-compare.sh): the build
# (llama-server-build.sh, which sets BIN) and the helpers they share.
# shellcheck source=bench/llama-server-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/llama-server-build.sh"

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for_llama_server PID PORT LOG: returns once the server on PORT answers /health; exits, showing LOG, if it dies first.
wait_for_llama_server() {
    local pid=$1 port=$2 server_log=$3 i
    for ((i = 0; i < 600; i++)); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$server_log" >&2; echo "llama-server exited" >&2; exit 1; }
        sleep 0.2
    done
    echo "llama-server on port $port did not answer /health within 2 minutes" >&2
    exit 1
}

# median VALUE...: the median of the values' first fields.
median() { printf '%s\n' "$@" | awk '{print $1}' | sort -g | awk '{a[NR]=$1} END {print a[int(NR/2)+1]}'; }
