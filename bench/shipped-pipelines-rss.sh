#!/usr/bin/env bash
# Peak RSS of one round of each shipped pipeline on a GGUF of its model's shape (the ShippedPipelinesTests cases, one
# test host each), read from the test host's VmHWM. Usage: bench/shipped-pipelines-rss.sh (after dotnet build Flywheel.sln).
set -uo pipefail
cd "$(dirname "$0")/.."
for shape in llama3 qwen mistral; do
  log=$(mktemp)
  dotnet test tests/Flywheel.Cli.Tests --no-build --filter "FullyQualifiedName~ShippedPipelines&DisplayName~$shape" > "$log" 2>&1 &
  test=$!
  peak=0
  while kill -0 "$test" 2>/dev/null; do
    for p in $(pgrep -f testhost); do
      r=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)
      [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    done
    sleep 0.2
  done
  echo "$shape: $(grep -oE '(Passed|Failed)! .*Total: +[0-9]+' "$log"), peak RSS $((peak / 1024)) MiB"
  rm -f "$log"
done
