#!/usr/bin/env bash
# Times the three data stages (release binaries) on one corpus.
# Usage: bench/data.sh BIN_DIR RUNS TRAIN VALID TEST
# Prints, per stage, the median and best wall time over RUNS runs, then the
# sum of the medians. Outputs go to a temporary folder that is removed; a
# stage's outputs are removed before each of its runs, so every run writes
# them anew (a writer keeps a file that would come out the same).
set -euo pipefail
bin=$1 runs=$2 train=$3 valid=$4 test=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# time_stage NAME OUT COMMAND...: runs COMMAND $runs times, each after
# removing its output folder OUT, and prints the median and best.
time_stage() {
  local name=$1 out=$2; shift 2
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    rm -rf "${work:?}/$out"
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
  "$bin/ner-convert" -q "$train" --output "$work/interim/train.parquet"
  "$bin/ner-convert" -q "$valid" --output "$work/interim/valid.parquet"
  "$bin/ner-convert" -q "$test" --output "$work/interim/test.parquet"
}
vocab() { "$bin/ner-vocab" -q "$work/interim/train.parquet" --output-dir "$work/vocab"; }
encode_all() {
  "$bin/ner-encode" -q "$work/interim/train.parquet" --vocab-dir "$work/vocab" --output "$work/processed/train.arrow"
  "$bin/ner-encode" -q "$work/interim/valid.parquet" --vocab-dir "$work/vocab" --output "$work/processed/valid.arrow" --order sequential
  "$bin/ner-encode" -q "$work/interim/test.parquet" --vocab-dir "$work/vocab" --output "$work/processed/test.arrow" --order sequential
}

echo "bench-data: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), corpus $(dirname "$train")"
time_stage convert interim convert_all
time_stage vocab vocab vocab
time_stage encode processed encode_all
awk '{s += $1} END {printf "total    %7.3f s   (sum of medians: convert x3, vocab, encode x3)\n", s}' "$work/medians"
