#!/usr/bin/env bash
# Two builds side by side on this machine, one process at a time: one
# training epoch of each of TRAIN_MODELS (ner-train only, no reference run;
# train and epoch seconds, training sentences per second, the split into
# forward, backward and optimizer), then ner-predict on the test split for
# each of PREDICT_MODELS (bench/predict.sh, median of 3), the two builds
# alternating ROUNDS times.
# Usage: bench/ab.sh BEFORE_BIN AFTER_BIN DATA_DIR PIPELINES_DIR MODELS_DIR ROUNDS "TRAIN_MODELS" "PREDICT_MODELS"
set -euo pipefail
before=$1 after=$2 data=$3 pipelines=$4 models=$5 rounds=$6 train_models=$7 predict_models=$8
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "bench-ab: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $rounds rounds"
echo "  before: $before"
echo "  after:  $after"
printf '%-18s %-7s %6s %9s %9s %12s %9s %9s %9s %8s\n' model build round "train s" "epoch s" "sentences/s" forward backward optimizer "val F1"
for model in $train_models; do
  order=$(sed -n 's/^batch_order *= *"\([a-z]*\)".*/\1/p' "$pipelines/$model.toml")
  train="$data/processed/train${order:+.$order}.arrow"
  for round in $(seq "$rounds"); do
    for build in before after; do
      bin=$before
      [ "$build" = after ] && bin=$after
      rm -rf "$work/model"
      "$bin/ner-train" --pipeline "$pipelines/$model.toml" --epochs 1 --no-progress \
        --train "$train" --valid "$data/processed/valid.arrow" --vocab-dir "$data/vocab" \
        --output "$work/model" > "$work/train.log"
      n=$(sed -n 's/.* training batches (\([0-9]*\) sentences).*/\1/p' "$work/train.log")
      python3 - "$work/model/metrics.jsonl" "$model" "$build" "$round" "$n" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1]).readline())
model, build, rnd, n = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
print(f"{model:<18} {build:<7} {rnd:>6} {m['train_seconds']:9.2f} {m['epoch_seconds']:9.2f} "
      f"{n / m['train_seconds']:12,.0f} {m['forward_seconds']:9.2f} {m['backward_seconds']:9.2f} "
      f"{m['optimizer_seconds']:9.2f} {m['val_entity_f1']:8.4f}")
PY
    done
  done
done
if [ -n "$predict_models" ]; then
  for round in $(seq "$rounds"); do
    for build in before after; do
      bin=$before
      [ "$build" = after ] && bin=$after
      echo "-- ner-predict, $build, round $round"
      # shellcheck disable=SC2086
      "$here/predict.sh" "$bin" "$data/interim/test.parquet" "$models" 3 $predict_models
    done
  done
fi
