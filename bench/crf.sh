#!/usr/bin/env bash
# One training epoch of an embedding pipeline (default char-bilstm-crf) with
# ner-train: training sentences per second (with the split into forward,
# backward and optimizer) and validation sentences per second (tagging with
# Viterbi and scoring); then one epoch of ../shared/bench/crf_ref.py, the
# plain PyTorch char-CNN BiLSTM-CRF, one after the other on this machine,
# never at the same time. RUNS (default 2) alternates them that many times.
# (crf_ref.py reads the same CoNLL files: the same sentences.)
# Usage: bench/crf.sh MODEL BIN_DIR PYTHON REFERENCE_DIR CONLL_DIR TRAIN_BATCHES VALID_BATCHES VOCAB_DIR PIPELINES_DIR
set -euo pipefail
model=$1 bin=$2 python=$3 reference=$4 conll=$5 train=$6 valid=$7 vocab=$8 pipelines=$9
runs=${RUNS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "bench-crf $model: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), one epoch each, $runs rounds"
for round in $(seq "$runs"); do
  rm -rf "$work/model"
  "$bin/ner-train" --pipeline "$pipelines/$model.toml" --epochs 1 --no-progress \
    --train "$train" --valid "$valid" --vocab-dir "$vocab" --output "$work/model" > "$work/ours.log"
  # Sentences per split, from ner-train's first line.
  n_train=$(sed -n 's/.* training batches (\([0-9]*\) sentences).*/\1/p' "$work/ours.log")
  n_valid=$(sed -n 's/.* validation batches (\([0-9]*\) sentences).*/\1/p' "$work/ours.log")
  "$python" - "$work/model/metrics.jsonl" "$n_train" "$n_valid" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1]).readline())
n_train, n_valid = int(sys.argv[2]), int(sys.argv[3])
validation = m["epoch_seconds"] - m["train_seconds"]
print(f"ner-train    train {m['train_seconds']:6.2f} s  {n_train / m['train_seconds']:7,.0f} sentences/s"
      f"  (forward {m['forward_seconds']:.2f}, backward {m['backward_seconds']:.2f}, optimizer {m['optimizer_seconds']:.2f})"
      f"   validation {validation:5.2f} s  {n_valid / validation:7,.0f} sentences/s   val entity F1 {m['val_entity_f1']:.4f}")
PY
  "$python" "$reference/crf_ref.py" "$conll" --epochs 1 > "$work/ref.jsonl"
  "$python" - "$work/ref.jsonl" "$n_train" <<'PY'
import json, sys
m, n = json.loads(open(sys.argv[1]).readline()), int(sys.argv[2])
print(f"crf_ref.py   train {m['train_s']:6.1f} s  {n / m['train_s']:7,.0f} sentences/s   val entity F1 {m['val_f1'] / 100:.4f}")
PY
done
