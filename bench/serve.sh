#!/usr/bin/env bash
# ner-serve under load against ner-predict's batch throughput, same model,
# same run. ner-load (compiled, one thread) sends single-sentence requests
# of the test split over keep-alive connections; ner-predict's predict-only
# throughput is the median of three runs.
# Usage: serve.sh BIN_DIR MODELS_DIR TEST.parquet REQUESTS CLIENTS MODEL...
set -euo pipefail
bin=$1 models=$2 parquet=$3 requests=$4 clients=$5
shift 5
port=$((20000 + RANDOM % 20000))
echo "bench-serve: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $requests single-sentence requests per client"
for model in "$@"; do
  rates=()
  for _ in 1 2 3; do
    summary=$("$bin/ner-predict" "$models/$model" "$parquet" 2>&1 >/dev/null)
    n=$(awk '{print $1}' <<<"$summary")
    predict=$(sed -E 's/.*\(([0-9.]+) s predicting\).*/\1/' <<<"$summary")
    rates+=("$(awk -v n="$n" -v s="$predict" 'BEGIN { printf "%.0f", n / s }')")
  done
  batch=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
  echo "== $model: ner-predict batch, predict-only: $batch sentences/s (median of ${rates[*]})"
  "$bin/ner-serve" "$models/$model" --port "$port" 2>/dev/null &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
  done
  "$bin/ner-load" "127.0.0.1:$port" "$parquet" --clients "${clients// /,}" --requests "$requests" |
    awk -v batch="$batch" 'NR == 1 { print $0 "  of batch"; next } { printf "%s %9.0f %%\n", $0, 100 * $3 / batch }'
  kill "$server"
  wait "$server" 2>/dev/null || true
done
