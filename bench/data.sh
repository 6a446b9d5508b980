#!/usr/bin/env bash
# Times the three data stages (release binaries) on one corpus.
# Usage: bench/data.sh BIN_DIR RUNS TRAIN VALID TEST
# Prints, per stage, the median and best wall time over RUNS runs, then the
# sum of the medians. Outputs go to a temporary folder that is removed.
set -euo pipefail
bin=$1 runs=$2 train=$3 valid=$4 test=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# time_stage NAME COMMAND...: runs COMMAND $runs times, prints median and best.
time_stage() {
  local name=$1; shift
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(now); "$@" >/dev/null; t1=$(now)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')")
  done
  local sorted median best
  sorted=$(printf '%s\n' "${times[@]}" | sort -g)
  median=$(echo "$sorted" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  best=$(echo "$sorted" | head -n1)
  printf '%-8s median %7.3f s   best %7.3f s   (%d runs)\n' "$name" "$median" "$best" "$runs"
  echo "$median" >> "$work/medians"
}

convert_all() {
  "$bin/ner-convert" -q "$train" --output "$work/train.parquet"
  "$bin/ner-convert" -q "$valid" --output "$work/valid.parquet"
  "$bin/ner-convert" -q "$test" --output "$work/test.parquet"
}
vocab() { "$bin/ner-vocab" -q "$work/train.parquet" --output-dir "$work/vocab"; }
encode_all() {
  "$bin/ner-encode" -q "$work/train.parquet" --vocab-dir "$work/vocab" --output "$work/train.arrow"
  "$bin/ner-encode" -q "$work/valid.parquet" --vocab-dir "$work/vocab" --output "$work/valid.arrow" --order sequential
  "$bin/ner-encode" -q "$work/test.parquet" --vocab-dir "$work/vocab" --output "$work/test.arrow" --order sequential
}

echo "bench-data: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), corpus $(dirname "$train")"
time_stage convert convert_all
time_stage vocab vocab
time_stage encode encode_all
awk '{s += $1} END {printf "total    %7.3f s   (sum of medians: convert x3, vocab, encode x3)\n", s}' "$work/medians"
