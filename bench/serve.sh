#!/usr/bin/env bash
# ner-serve under load against ner-predict's batch throughput, same model,
# same run. Usage: serve.sh BIN_DIR MODELS_DIR TEST.conll TEST.parquet REQUESTS CLIENTS MODEL...
set -euo pipefail
bin=$1 models=$2 conll=$3 parquet=$4 requests=$5 clients=$6
shift 6
port=$((20000 + RANDOM % 20000))
echo "bench-serve: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $requests single-sentence requests per client"
for model in "$@"; do
  summary=$("$bin/ner-predict" "$models/$model" "$parquet" 2>&1 >/dev/null)
  n=$(awk '{print $1}' <<<"$summary")
  predict=$(sed -E 's/.*\(([0-9.]+) s predicting\).*/\1/' <<<"$summary")
  echo "== $model: ner-predict batch, predict-only: $(awk -v n="$n" -v s="$predict" 'BEGIN { printf "%.0f", n / s }') sentences/s"
  "$bin/ner-serve" "$models/$model" --port "$port" 2>/dev/null &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
  done
  printf '%8s %9s %12s %9s %9s\n' clients requests sentences/s "p50 ms" "p99 ms"
  python3 "$(dirname "$0")/serve_load.py" "http://127.0.0.1:$port" "$conll" 1 20 >/dev/null # warm-up
  for c in $clients; do
    python3 "$(dirname "$0")/serve_load.py" "http://127.0.0.1:$port" "$conll" "$c" "$requests"
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
done
