#!/usr/bin/env bash
# Trains each course model with ner-train (make train) and with the course's
# PyTorch code (seed_ref.py --lookup: the same model and Adam steps) for the
# pipeline's epochs, one process at a time, and prints the last epoch's
# validation scores side by side.
# Usage: bench/quality.sh PYTHON REFERENCE_DIR CONLL_DIR WORK_DIR MODEL...
# Reference logs go to WORK_DIR/reports/reference/<MODEL>.lookup.jsonl.
set -euo pipefail
python=$1 reference=$2 conll=$3 work=$4; shift 4
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/reports/reference"
for model in "$@"; do
  epochs=$(sed -nE 's/^epochs *= *([0-9]+).*/\1/p' "$root/pipelines/$model.toml")
  make -s -C "$root" train MODEL="$model" WORK_DIR="$work" >/dev/null
  "$python" "$reference/seed_ref.py" "$conll" "$model" --lookup --epochs "$epochs" \
    > "$work/reports/reference/$model.lookup.jsonl"
done
"$python" - "$work" "$@" <<'PY'
import json, sys
work, models = sys.argv[1], sys.argv[2:]
print(f"{'model':8} {'epochs':>6}  {'ner-train macro F1':>18} {'entity F1':>9}  {'seed_ref --lookup macro F1':>26} {'entity F1':>9}  {'difference (macro)':>18}")
for m in models:
    ours = [json.loads(l) for l in open(f"{work}/models/{m}/metrics.jsonl")][-1]
    ref = [json.loads(l) for l in open(f"{work}/reports/reference/{m}.lookup.jsonl") if '"epoch"' in l][-1]
    print(f"{m:8} {ours['epoch']:>6}  {ours['val_macro_f1']:>18.4f} {ours['val_entity_f1']:>9.4f}  "
          f"{ref['val_macro_f1']:>26.4f} {ref['val_entity_f1']:>9.4f}  {ours['val_macro_f1'] - ref['val_macro_f1']:>+18.4f}")
PY
