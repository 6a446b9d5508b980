#!/usr/bin/env python3
"""Writes a corpus FACTOR times the size of a CoNLL column file.

Copy 0 is the file itself; copy k >= 1 holds its sentences in a shuffled
order (seeded by k) with about 15% of the tokens perturbed (a suffix out of
20, so the vocabulary grows as a real larger corpus's would, and saturates).
Tags and the other columns are kept. Usage: scale_corpus.py IN FACTOR OUT
"""
import random
import sys


def main() -> None:
    source, factor, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(source, encoding="utf-8") as f:
        blocks = [b for b in f.read().split("\n\n") if b.strip()]
    with open(out, "w", encoding="utf-8") as w:
        for k in range(factor):
            rng = random.Random(k)
            order = list(range(len(blocks)))
            if k:
                rng.shuffle(order)
            parts = []
            for i in order:
                block = blocks[i]
                if k and not block.startswith("-DOCSTART-"):
                    lines = []
                    for line in block.split("\n"):
                        if line and rng.random() < 0.15:
                            token, rest = line.split(" ", 1)
                            line = f"{token}{rng.randrange(20)} {rest}"
                        lines.append(line)
                    block = "\n".join(lines)
                parts.append(block)
            w.write("\n\n".join(parts))
            w.write("\n\n")


if __name__ == "__main__":
    main()
