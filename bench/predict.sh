#!/usr/bin/env bash
# ner-predict end to end on one split for each model: reading the sentences,
# loading the model, predicting, writing predictions Parquet + CoNLL.
# Usage: predict.sh BIN_DIR SPLIT.parquet MODELS_DIR RUNS MODEL...
set -euo pipefail
bin=$1 split=$2 models=$3 runs=$4
shift 4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n_sentences=$("$bin/ner-predict" "$models/$1" "$split" --parquet "$out/p.parquet" 2>&1 | awk '{print $1}')
echo "ner-predict on $split ($n_sentences sentences), median of $runs runs, $(nproc) CPU threads"
printf '%-22s %12s %14s %16s\n' model "wall s" "sentences/s" "predict-only s"
for model in "$@"; do
  walls=() predicts=()
  for _ in $(seq "$runs"); do
    # Written anew each run (a writer keeps a file that would come out the same).
    rm -f "$out/p.parquet" "$out/p.conll"
    start=$(date +%s.%N)
    summary=$("$bin/ner-predict" "$models/$model" "$split" --parquet "$out/p.parquet" --conll "$out/p.conll" 2>&1)
    end=$(date +%s.%N)
    walls+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")
    predicts+=("$(sed -E 's/.*\(([0-9.]+) s predicting\).*/\1/' <<<"$summary")")
  done
  wall=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")
  predict=$(printf '%s\n' "${predicts[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-22s %12.3f %14.0f %16.3f\n' "$model" "$wall" "$(awk -v n="$n_sentences" -v w="$wall" 'BEGIN { print n / w }')" "$predict"
done
