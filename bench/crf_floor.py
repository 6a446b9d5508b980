"""The arithmetic floor of one training epoch of a recurrent pipeline.

Usage: python bench/crf_floor.py PIPELINE.toml TRAIN_BATCHES.arrow VOCAB_DIR GEMM_ROWS [CORES]

Counts the multiply-adds of one epoch's matrix products from the batches
file (real tokens, and for the character CNN each token padded to its
batch's longest word) and the pipeline's sizes: the input projection into
the gates, the recurrent step, the output layer and the character CNN,
forward and backward (the backward of a product is two products of its
size: the input's gradient and the weight's). GEMM_ROWS is the
`ner-kernels` example `gemm_rows`; it gives this machine's best rate of
each product's shape (step products at no more rows than a batch), and the
floor is the products alone at those rates with every core busy all the
time: no gate functions, CRF, dropout, optimizer or memory traffic.
"""

import functools
import subprocess
import sys
import tomllib

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@functools.cache
def measured(gemm_rows, k, n):
    """(rows, best GFLOP/s of either product) of a k x n product, from
    gemm_rows."""
    out = subprocess.run([gemm_rows, str(k), str(n)], check=True, capture_output=True, text=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] == "rows":
            table.append((int(parts[0]), max(float(parts[2]), float(parts[3]))))
    return table


def rates(gemm_rows, k, n, max_rows):
    """Best GFLOP/s of a k x n product at no more than max_rows rows."""
    return max(rate for rows, rate in measured(gemm_rows, k, n) if rows <= max_rows)


def main():
    pipeline, batches_path, vocab_dir, gemm_rows = sys.argv[1:5]
    cores = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    with open(pipeline, "rb") as f:
        config = tomllib.load(f)
    model, train = config["model"], config.get("train", {})
    batch_size = int(train.get("batch_size", 32))
    hidden, gates = model["hidden"], GATES[model["cell"]]
    dirs = 2 if model.get("bidirectional", False) else 1
    layers = model.get("layers", 1)
    chars = model.get("chars", "none")
    first_input = model.get("embedding_dim", 0) + model.get("casing_dim", 0)
    if chars == "cnn":
        first_input += model["char_hidden"]
    n_tags = pq.read_metadata(f"{vocab_dir}/tags.parquet").num_rows

    tokens = sentences = char_positions = 0
    with pa.memory_map(batches_path) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            lengths = batch.column("length").to_numpy()
            n = int(lengths.sum())
            tokens += n
            sentences += len(lengths)
            if chars == "cnn":
                words = batch.column("char_ids").values  # one list per token slot
                width = len(words[0]) if len(words) else 0
                char_positions += n * width

    g = gates * hidden
    parts = []  # (name, multiply-adds forward, k, n, rows limit)
    for layer in range(layers):
        size = first_input if layer == 0 else hidden * dirs
        parts.append((f"input projection, layer {layer + 1}", tokens * size * g * dirs, size, g * dirs, 1 << 30))
        parts.append((f"recurrent step, layer {layer + 1}", tokens * hidden * g * dirs, hidden, g, batch_size))
    parts.append(("output layer", tokens * hidden * dirs * n_tags, hidden * dirs, n_tags, 1 << 30))
    if chars == "cnn":
        window = model["char_dim"] * model.get("char_kernel", 3)
        parts.append(("character CNN", char_positions * window * model["char_hidden"], window, model["char_hidden"], 1 << 30))

    print(f"{pipeline}: {sentences} sentences, {tokens} tokens, {cores} cores")
    print(f"{'product':28} {'G mult-adds (fwd+bwd)':>22} {'best GFLOP/s':>13} {'core-seconds':>13}")
    total_macs = total_seconds = 0.0
    for name, forward, k, n, max_rows in parts:
        macs = 3 * forward  # forward, then the input's and the weight's gradients
        # The forward and the input's gradient (k x n, then n x k) run at no
        # more than max_rows rows; the weight's gradient sums over all of
        # them at once.
        step = max(rates(gemm_rows, k, n, max_rows), rates(gemm_rows, n, k, max_rows))
        whole = max(step, rates(gemm_rows, k, n, 1 << 30), rates(gemm_rows, n, k, 1 << 30))
        seconds = 2 * forward * (2 / step + 1 / whole) / 1e9
        rate = 2 * macs / seconds / 1e9
        total_macs += macs
        total_seconds += seconds
        print(f"{name:28} {macs / 1e9:22.1f} {rate:13.1f} {seconds:13.2f}")
    floor = total_seconds / cores
    print(f"{'all products':28} {total_macs / 1e9:22.1f} {'':13} {total_seconds:13.2f}")
    print(f"floor: {floor:.2f} s an epoch ({sentences / floor:,.0f} sentences/s) with every core "
          f"multiplying all the time; 2,000 sentences/s is {sentences / 2000:.2f} s an epoch")


if __name__ == "__main__":
    main()
