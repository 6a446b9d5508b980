#!/usr/bin/env bash
# One training epoch of a course model: ner-train against the course's
# PyTorch implementation (../shared/bench/seed_ref.py), one after the other on
# this machine, never at the same time (two libtorch processes on few cores
# slow each other down many times over).
# Usage: bench/train.sh MODEL BIN_DIR PYTHON REFERENCE_DIR CONLL_DIR DATA_DIR PIPELINES_DIR
# REFERENCE_VARIANTS (default "lookup") picks the reference runs: any of
#   lookup (--lookup), fused (--lookup --fused), dense (the course's code as written).
set -euo pipefail
model=$1 bin=$2 python=$3 reference=$4 conll=$5 data=$6 pipelines=$7
variants=${REFERENCE_VARIANTS:-lookup}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "bench-train $model: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), one epoch each"
"$bin/ner-train" --pipeline "$pipelines/$model.toml" --epochs 1 --no-progress \
  --train "$data/processed/train.arrow" --valid "$data/processed/valid.arrow" \
  --vocab-dir "$data/vocab" --output "$work/model" > "$work/ours.log"
ours=$("$python" -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); print(m["train_seconds"], m["epoch_seconds"], m["val_macro_f1"])' "$work/model/metrics.jsonl")
read -r ours_train ours_epoch ours_f1 <<< "$ours"
printf '%-28s train %7.1f s   epoch %7.1f s   val macro F1 %.4f\n' "ner-train" "$ours_train" "$ours_epoch" "$ours_f1"

for variant in $variants; do
  case $variant in
    lookup) flags=(--lookup) ;;
    fused) flags=(--lookup --fused) ;;
    dense) flags=() ;;
    *) echo "unknown reference variant '$variant'" >&2; exit 2 ;;
  esac
  "$python" "$reference/seed_ref.py" "$conll" "$model" --epochs 1 "${flags[@]}" > "$work/ref.log"
  ref=$("$python" -c 'import json,sys; m=[json.loads(l) for l in open(sys.argv[1])][-1]; print(m["train_s"], m["epoch_s"], m["val_macro_f1"])' "$work/ref.log")
  read -r ref_train ref_epoch ref_f1 <<< "$ref"
  printf '%-28s train %7.1f s   epoch %7.1f s   val macro F1 %.4f   ner-train is %.2fx faster (epoch)\n' \
    "seed_ref.py ${flags[*]:-(dense one-hot)}" "$ref_train" "$ref_epoch" "$ref_f1" \
    "$(awk -v a="$ref_epoch" -v b="$ours_epoch" 'BEGIN {print a / b}')"
done
