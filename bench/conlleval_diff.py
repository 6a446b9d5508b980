#!/usr/bin/env python3
"""Differential check: ner-score --conll against the real conlleval script.

Usage: conlleval_diff.py NER_SCORE CONLLEVAL [N_FILES] [SEED]

Generates N_FILES random conlleval inputs (well-formed IOB1/IOB2/BIOES,
ill-formed sequences, odd prefixes, hyphenated and empty types, -X- and
-DOCSTART- lines, blank-line runs, extra spaces, CRLF endings, non-UTF-8
bytes, 2- to 5-column files, -r/-l/-d options) and compares the two programs'
standard output and exit status byte for byte. conlleval is not shipped with
this project: pass the path of your copy (perl is needed to run it).
"""
import random
import subprocess
import sys

PREFIXES = ["B", "I", "E", "S", "O", "B", "I", "I", "[", "]", ".", "X", ""]
TYPES = ["PER", "LOC", "ORG", "MISC", "GPE-LOC", "0", "", "a", "Z9", "\xe9t\xe9"]


def tag(rng):
    r = rng.random()
    if r < 0.45:
        return "O"
    if r < 0.9:
        return rng.choice("BI") + "-" + rng.choice(TYPES[:4])
    p, t = rng.choice(PREFIXES), rng.choice(TYPES)
    return rng.choice([p + "-" + t, p, t, "-", p + "--" + t])


def document(rng):
    n_cols = rng.choice([2, 3, 3, 4, 5])
    lines = []
    for _ in range(rng.randint(0, 40)):
        r = rng.random()
        if r < 0.08:
            lines.append("")
        elif r < 0.11:
            lines.append(" ".join(["-X-"] + ["-X-"] * (n_cols - 2) + ["O"]))
        elif r < 0.13:
            lines.append(" ".join(["-DOCSTART-"] + ["-X-"] * (n_cols - 3) + ["O", "O"])[: 10**6])
        else:
            gold, pred = tag(rng), tag(rng)
            if rng.random() < 0.5:
                pred = gold
            token = rng.choice(["EU", "rejects", "x", "\u00fcber", "-X-"] if rng.random() < 0.05 else ["w"])
            lines.append(" ".join([token] + ["NN"] * (n_cols - 3) + [gold, pred]))
    text = "\n".join(lines)
    r = rng.random()
    if r < 0.1:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.8:
        text += "\n"
    if rng.random() < 0.05 and lines:
        text += "oops\n"  # wrong number of fields
    if rng.random() < 0.05:
        text = text.replace(" ", "  ", 1)
    data = text.encode("utf-8")
    if rng.random() < 0.05:
        data = data.replace(b"w", b"\xff", 1)
    return data


def main():
    ner_score, conlleval = sys.argv[1], sys.argv[2]
    n_files = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    failures = 0
    for i in range(n_files):
        data = document(rng)
        options = rng.choice([[], [], [], ["-l"], ["-r"], ["-r", "-o", "NONE"], ["-d", "\\s+"], ["-d", "\t"]])
        if "-d" in options and options[-1] == "\t":
            data = data.replace(b" ", b"\t")
        ref = subprocess.run(["perl", conlleval] + options, input=data, capture_output=True)
        ours = subprocess.run([ner_score, "--conll", "-"] + options, input=data, capture_output=True)
        same = (ref.returncode == 0) == (ours.returncode == 0)
        if ref.returncode == 0:
            same = same and ref.stdout == ours.stdout
        if not same:
            failures += 1
            if failures <= 3:
                print(f"file {i} options {options}: differs", file=sys.stderr)
                print(repr(data[:600]), file=sys.stderr)
                print("conlleval:", ref.returncode, ref.stdout.decode("latin-1"), ref.stderr.decode("latin-1"), file=sys.stderr)
                print("ner-score:", ours.returncode, ours.stdout.decode("latin-1"), ours.stderr.decode("latin-1"), file=sys.stderr)
    print(f"{n_files} random files, {failures} differ")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
