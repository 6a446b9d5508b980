"""Measures ner_toolkit against ner-predict (see bench/python.sh).

In-process: ``Tagger.tag_arrow`` on the test split read with pyarrow, and
``ner_toolkit.polars.tag`` on it read with polars, best of RUNS, against
ner-predict's own predict-only time (its summary line) with the same model
and threads. Then Spark: ``python -m ner_toolkit.spark --master local[2]``
on the training split repeated SCALE times (and SCALE/10 times, to see
whether memory grows with the corpus), against ``ner-predict`` on the same
file with 2 threads: wall time and the peak memory of each process tree
(sampled from /proc every 0.2 s: the JVM and its Python workers together).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RUNS = 3


def tree_rss_mib(pid: int) -> float:
    """Resident memory of `pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak tree RSS (MiB) and stdout+stderr of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    peak = 0.0
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))
    reader.start()
    while proc.poll() is None:
        peak = max(peak, tree_rss_mib(proc.pid))
        time.sleep(0.2)
    reader.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{''.join(out)[-3000:]}")
    return seconds, peak, "".join(out)


def predict_only(bin_dir: Path, model: Path, data: Path, threads: int, out: Path) -> float:
    """ner-predict's predicting seconds (its summary), best of RUNS."""
    best = float("inf")
    for _ in range(RUNS):
        _, _, text = timed([str(bin_dir / "ner-predict"), str(model), str(data), "--parquet", str(out),
                            "--threads", str(threads)])
        m = re.search(r"\(([\d.]+) s predicting\)", text)
        best = min(best, float(m.group(1)))
    return best


def in_process(args: argparse.Namespace, model: Path, threads: int) -> None:
    import polars as pl
    import pyarrow.parquet as pq

    import ner_toolkit
    import ner_toolkit.polars as ntp

    table = pq.read_table(args.test)
    n = table.num_rows
    with tempfile.TemporaryDirectory() as tmp:
        native = predict_only(args.bin, model, args.test, threads, Path(tmp) / "p.parquet")
    tagger = ner_toolkit.Tagger(model, threads=threads)
    tagger.tag_arrow(table.slice(0, 10))
    arrow = min(_time(lambda: tagger.tag_arrow(table)) for _ in range(RUNS))
    df = pl.read_parquet(args.test)
    expr = lambda: df.with_columns(pred=ntp.tag("tokens", model=model, threads=threads))  # noqa: E731
    df.head(10).with_columns(pred=ntp.tag("tokens", model=model, threads=threads))
    plugin = min(_time(expr) for _ in range(RUNS))
    for name, secs in [("ner-predict (predict only)", native), ("Tagger.tag_arrow", arrow),
                       ("polars ner_toolkit.polars.tag", plugin)]:
        print(f"| {model.name} | {name} | {threads} | {secs:.3f} | {n / secs:,.0f} | {100 * native / secs:.0f} % |")


def _time(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def spark(args: argparse.Namespace, model: Path) -> None:
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for k in sorted({max(1, args.scale // 10), args.scale}):
            corpus = tmp / f"train.x{k}.txt"
            subprocess.run([sys.executable, str(here / "scale_corpus.py"), str(args.train), str(k), str(corpus)], check=True)
            data = tmp / f"x{k}.parquet"
            subprocess.run([str(args.bin / "ner-convert"), "-q", str(corpus), "--output", str(data)], check=True)
            corpus.unlink()
            n = int(subprocess.run([sys.executable, "-c", f"import pyarrow.parquet as pq; print(pq.ParquetFile('{data}').metadata.num_rows)"],
                                   capture_output=True, text=True, check=True).stdout)
            secs, mib, _ = timed([str(args.bin / "ner-predict"), str(model), str(data), "--parquet",
                                  str(tmp / "native.parquet"), "--threads", "2", "--quiet"])
            print(f"| {model.name} | {k}x | {n:,} | ner-predict --threads 2 | {secs:.1f} | {n / secs:,.0f} | {mib:,.0f} |", flush=True)
            (tmp / "native.parquet").unlink()
            env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
            secs, mib, _ = timed([sys.executable, "-m", "ner_toolkit.spark", "--master", "local[2]", "--model", str(model),
                                  str(data), str(tmp / "spark")], env)
            print(f"| {model.name} | {k}x | {n:,} | Spark local[2] | {secs:.1f} | {n / secs:,.0f} | {mib:,.0f} |", flush=True)
            subprocess.run(["rm", "-rf", str(tmp / "spark"), str(data)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("models_", nargs="+", metavar="MODEL")
    args = parser.parse_args()
    print("| model | path | threads | seconds | sentences/s | of ner-predict |")
    print("|---|---|---|---|---|---|")
    for m in args.models_:
        in_process(args, args.models / m, args.threads)
    if args.no_spark:
        return
    print()
    print("| model | corpus | sentences | run | seconds | sentences/s | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for m in args.models_:
        spark(args, args.models / m)


if __name__ == "__main__":
    main()
