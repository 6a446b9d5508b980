#!/usr/bin/env bash
# Convert, vocab and encode on corpora 1x, 10x, 100x the training split:
# wall time and peak resident memory (GNU time) of each stage.
# Usage: bench/scale.sh BIN_DIR TRAIN "1 10 100"
# The corpora are written to a temporary folder (about 330 MB for 100x) and
# removed afterwards. Encoding uses the bucket order, as the CRF pipelines do.
set -euo pipefail
bin=$1 train=$2 scales=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure NAME COMMAND...: prints seconds and peak RSS (MiB) of one run.
measure() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null
  read -r secs kib < "$work/time"
  printf '%s %s %.0f\n' "$name" "$secs" "$(awk -v k="$kib" 'BEGIN {print k / 1024}')"
}

printf '| scale | tokens | MB | convert s | convert MiB | vocab s | vocab MiB | encode s | encode MiB |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for k in $scales; do
  corpus="$work/train.x$k.txt"
  python3 "$here/scale_corpus.py" "$train" "$k" "$corpus"
  mb=$(du -m "$corpus" | cut -f1)
  c=$(measure convert "$bin/ner-convert" -q "$corpus" --output "$work/x$k.parquet")
  v=$(measure vocab "$bin/ner-vocab" -q "$work/x$k.parquet" --output-dir "$work/vocab$k")
  e=$(measure encode "$bin/ner-encode" -q "$work/x$k.parquet" --vocab-dir "$work/vocab$k" \
        --output "$work/x$k.arrow" --order bucket)
  tokens=$(grep -cv -e '^$' -e '^-DOCSTART-' "$corpus")
  echo "$c $v $e" | awk -v k="$k" -v t="$tokens" -v mb="$mb" \
    '{printf "| %dx | %d | %d | %.2f | %d | %.2f | %d | %.2f | %d |\n", k, t, mb, $2, $3, $5, $6, $8, $9}'
  rm -f "$corpus" "$work/x$k.parquet" "$work/x$k.arrow"
done
