#!/usr/bin/env bash
# Both ensemble rules (ner-predict --combine mixture|product) on the seeds of
# each pipeline named, scored by ner-score: entity F1 on validation and test.
# Seed 1 is MODELS_DIR/PIPELINE.seed1, or MODELS_DIR/PIPELINE (the folder
# `make train` wrote) where there is no .seed1; seeds 2 and 3 are .seed2 and
# .seed3. Nothing is trained: a missing folder is an error.
# Usage: ensemble_rules.sh BIN_DIR INTERIM_DIR MODELS_DIR PIPELINE...
set -euo pipefail
bin=$1 interim=$2 models=$3
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| seeds 1–3 of | mixture (test / validation) | product (test / validation) |"
echo "|---|---:|---:|"
for pipeline in "$@"; do
  first=$models/$pipeline.seed1
  [ -d "$first" ] || first=$models/$pipeline
  for dir in "$first" "$models/$pipeline.seed2" "$models/$pipeline.seed3"; do
    [ -f "$dir/best.safetensors" ] || { echo "error: $dir has no best.safetensors" >&2; exit 1; }
  done
  row="| \`$pipeline\`"
  for rule in mixture product; do
    f1=()
    for split in test valid; do
      "$bin/ner-predict" "$first" "$interim/$split.parquet" \
        --ensemble "$models/$pipeline.seed2" --ensemble "$models/$pipeline.seed3" \
        --combine "$rule" --parquet "$out/$split.parquet" --quiet
      # conlleval's second line ends in the overall FB1.
      f1+=("$("$bin/ner-score" "$out/$split.parquet" | awk 'NR == 2 { print $NF }')")
    done
    row="$row | ${f1[0]} / ${f1[1]}"
  done
  echo "$row |"
done
