#!/usr/bin/env bash
# One training epoch of a course model: ner-train against the course's
# PyTorch implementation (../shared/bench/seed_ref.py), one after the other on
# this machine, never at the same time (two libtorch processes on few cores
# slow each other down many times over).
# Usage: bench/train.sh MODEL BIN_DIR PYTHON REFERENCE_DIR CONLL_DIR DATA_DIR PIPELINES_DIR
# REFERENCE_VARIANTS (default "fused", the fastest stock PyTorch) picks the reference runs: any of
#   lookup (--lookup), fused (--lookup --fused), dense (the course's code as written).
set -euo pipefail
model=$1 bin=$2 python=$3 reference=$4 conll=$5 data=$6 pipelines=$7
variants=${REFERENCE_VARIANTS:-fused}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "bench-train $model: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), one epoch each"
"$bin/ner-train" --pipeline "$pipelines/$model.toml" --epochs 1 --no-progress \
  --train "$data/processed/train.arrow" --valid "$data/processed/valid.arrow" \
  --vocab-dir "$data/vocab" --output "$work/model" > "$work/ours.log"
ours=$("$python" -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); print(m["train_seconds"], m["epoch_seconds"], m["val_macro_f1"])' "$work/model/metrics.jsonl")
read -r ours_train ours_epoch ours_f1 <<< "$ours"
printf '%-28s train %7.1f s   epoch %7.1f s   val macro F1 %.4f\n' "ner-train" "$ours_train" "$ours_epoch" "$ours_f1"
# Where the epoch went, and how close the optimizer runs to memory bandwidth:
# the fused Adam step reads parameter, gradient and both moments and writes
# all four (32 bytes per parameter per step), except for the word tables,
# whose gradients are sparse: parameter and moments, read and written (24
# bytes); the machine's copy bandwidth is the best of 10 copies of a 256 MiB
# tensor (bytes read + written per second).
steps=$(sed -n 's/.* \([0-9]*\) training batches.*/\1/p' "$work/ours.log")
"$python" - "$work/model" "$steps" <<'PY'
import json, sys, time
import torch
folder, steps = sys.argv[1], int(sys.argv[2])
m = json.loads(open(f"{folder}/metrics.jsonl").readline())
n = json.load(open(f"{folder}/config.json"))["n_parameters"]
# Parameter shapes from the safetensors header: the word tables (one-hot
# input tables, word embedding) have sparse gradients.
with open(f"{folder}/model.safetensors", "rb") as f:
    header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
def numel(shape):
    out = 1
    for d in shape:
        out *= d
    return out
tables = sum(numel(v["shape"]) for k, v in header.items()
             if k.startswith("onehot.") or k == "embedding.weight")
a = torch.empty(64 * 2**20)
b = torch.empty_like(a)
b.copy_(a)
times = []
for _ in range(10):
    t0 = time.perf_counter()
    b.copy_(a)
    times.append(time.perf_counter() - t0)
copy_gbs = 2 * a.numel() * 4 / min(times) / 1e9
other = m["train_seconds"] - m["forward_seconds"] - m["backward_seconds"] - m["optimizer_seconds"]
print(f"  split: forward {m['forward_seconds']:.1f} s, backward {m['backward_seconds']:.1f} s, "
      f"optimizer {m['optimizer_seconds']:.1f} s, data and bookkeeping {other:.1f} s, "
      f"validation {m['epoch_seconds'] - m['train_seconds']:.1f} s")
moved = 24 * tables + 32 * (n - tables)
opt_gbs = moved * steps / m["optimizer_seconds"] / 1e9
print(f"  optimizer: ({tables:,} table parameters x 24 bytes + {n - tables:,} others x 32 bytes) "
      f"x {steps} steps in {m['optimizer_seconds']:.2f} s = "
      f"{opt_gbs:.1f} GB/s; machine copy bandwidth {copy_gbs:.1f} GB/s ({100 * opt_gbs / copy_gbs:.0f}%)")
PY

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
