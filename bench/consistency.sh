#!/usr/bin/env bash
# Document consistency (ner-predict --consistency W) on the trained seeds of
# each pipeline named: test and validation entity F1 (ner-score) of seeds 1–3
# alone, their mean ± sd, and the three as one ensemble by each rule, for
# every weight in WEIGHTS (0: off). Seed 1 is MODELS_DIR/PIPELINE.seed1, or
# MODELS_DIR/PIPELINE (the folder `make train` wrote) where there is no
# .seed1; seeds 2 and 3 are .seed2 and .seed3. Nothing is trained: a missing
# folder is an error.
# Usage: consistency.sh BIN_DIR INTERIM_DIR MODELS_DIR "WEIGHTS" PIPELINE...
set -euo pipefail
bin=$1 interim=$2 models=$3 weights=$4
shift 4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Entity F1 of MODEL_DIR [ner-predict flags…] on SPLIT: conlleval's second
# line ends in the overall FB1.
f1() {
  local split=$1
  shift
  "$bin/ner-predict" "$@" "$interim/$split.parquet" --parquet "$out/p.parquet" --quiet
  "$bin/ner-score" "$out/p.parquet" | awk 'NR == 2 { print $NF }'
}

echo "Entity F1, test / validation; weight 0 is the sentence-level decoding."
echo
echo "| pipeline | weight | seed 1 | seed 2 | seed 3 | mean ± sd (test) | mixture | product |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for pipeline in "$@"; do
  first=$models/$pipeline.seed1
  [ -d "$first" ] || first=$models/$pipeline
  seeds=("$first" "$models/$pipeline.seed2" "$models/$pipeline.seed3")
  for dir in "${seeds[@]}"; do
    [ -f "$dir/best.safetensors" ] || { echo "error: $dir has no best.safetensors" >&2; exit 1; }
  done
  for w in $weights; do
    row="| \`$pipeline\` | $w"
    tests=()
    for dir in "${seeds[@]}"; do
      t=$(f1 test "$dir" --consistency "$w")
      v=$(f1 valid "$dir" --consistency "$w")
      tests+=("$t")
      row="$row | $t / $v"
    done
    row="$row | $(printf '%s\n' "${tests[@]}" | awk '{ s += $1; q += $1 * $1; n++ }
      END { m = s / n; v = (q - n * m * m) / (n - 1); printf "%.2f ± %.2f", m, sqrt(v > 0 ? v : 0) }')"
    for rule in mixture product; do
      members=("$first" --ensemble "${seeds[1]}" --ensemble "${seeds[2]}" --combine "$rule" --consistency "$w")
      row="$row | $(f1 test "${members[@]}") / $(f1 valid "${members[@]}")"
    done
    echo "$row |"
  done
done
