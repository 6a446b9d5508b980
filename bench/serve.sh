#!/usr/bin/env bash
# ner-serve under load against ner-predict's batch throughput, same model,
# same run. ner-load (compiled, one thread) sends single-sentence requests
# of the test split over keep-alive connections; ner-predict's predict-only
# throughput is the median of six runs, three before the load and three
# after it (this machine's speed drifts between minutes). SERVE_FLAGS
# passes options to ner-serve.
# Usage: serve.sh BIN_DIR MODELS_DIR TEST.parquet REQUESTS CLIENTS MODEL...
set -euo pipefail
bin=$1 models=$2 parquet=$3 requests=$4 clients=$5
shift 5
port=$((20000 + RANDOM % 20000))
echo "bench-serve: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $requests single-sentence requests per client"
# ner-predict's predict-only sentences/s on the test split.
predict_rate() {
  local summary n predict
  summary=$("$bin/ner-predict" "$models/$1" "$parquet" 2>&1 >/dev/null)
  n=$(awk '{print $1}' <<<"$summary")
  predict=$(sed -E 's/.*\(([0-9.]+) s predicting\).*/\1/' <<<"$summary")
  awk -v n="$n" -v s="$predict" 'BEGIN { printf "%.0f", n / s }'
}
for model in "$@"; do
  rates=()
  for _ in 1 2 3; do rates+=("$(predict_rate "$model")"); done
  # shellcheck disable=SC2086
  "$bin/ner-serve" "$models/$model" --port "$port" ${SERVE_FLAGS:-} 2>/dev/null &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
  done
  load=$("$bin/ner-load" "127.0.0.1:$port" "$parquet" --clients "${clients// /,}" --requests "$requests")
  kill "$server"
  wait "$server" 2>/dev/null || true
  for _ in 1 2 3; do rates+=("$(predict_rate "$model")"); done
  batch=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }')
  echo "== $model: ner-predict batch, predict-only: $batch sentences/s (median of ${rates[*]}; three before the load, three after)${SERVE_FLAGS:+; ner-serve $SERVE_FLAGS}"
  awk -v batch="$batch" 'NR == 1 { print $0 "  of batch"; next } { printf "%s %9.0f %%\n", $0, 100 * $3 / batch }' <<<"$load"
done
