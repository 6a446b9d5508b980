"""Tagging a Spark DataFrame of sentences with ``DataFrame.mapInArrow``.

    >>> from ner_toolkit import spark as nts
    >>> df = session.read.parquet("data/interim/test.parquet")
    >>> nts.tag(df, "models/bilstm").write.parquet("predictions/")

Each Python worker loads the model folder once and tags the Arrow batches
Spark hands it in place; the output has the columns of ``ner-predict``'s
predictions Parquet files (``sentence_id`` as a Spark ``long``: Spark has no
unsigned integers). On a cluster the folder must be readable on every
executor: a shared path, or ``spark-submit --archives model.tar.gz#model``
with ``model_dir="model"`` (looked up with ``SparkFiles`` when it is not a
folder there).

As a job (``make spark-tag``)::

    python -m ner_toolkit.spark --model models/bilstm INPUT OUTPUT [--master local[2]]

reads a sentences Parquet file or a folder of shards and writes predictions
shards to OUTPUT, which appears whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import uuid
from typing import Any, Iterator

import pyarrow as pa

import ner_toolkit

_TAGGERS: dict[tuple[Any, ...], ner_toolkit.Tagger] = {}


def arrow_schema() -> pa.Schema:
    """The predictions schema as Spark holds it: ``sentence_id`` as int64."""
    schema = ner_toolkit.predictions_schema()
    i = schema.get_field_index("sentence_id")
    return schema.set(i, pa.field("sentence_id", pa.int64(), nullable=False))


def spark_schema() -> Any:
    """:func:`arrow_schema` as a Spark ``StructType``."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema())


def _resolve(model_dir: str) -> str:
    if os.path.isdir(model_dir):
        return model_dir
    try:
        from pyspark import SparkFiles

        shipped = SparkFiles.get(model_dir)
    except Exception:  # no SparkContext in this process: keep the path as given
        return model_dir
    return shipped if os.path.isdir(shipped) else model_dir


def _tagger(model_dir: str, last: bool, threads: int, batch_size: int) -> ner_toolkit.Tagger:
    key = (model_dir, last, threads, batch_size)
    tagger = _TAGGERS.get(key)
    if tagger is None:
        tagger = ner_toolkit.Tagger(
            _resolve(model_dir), last=last, threads=threads, batch_size=batch_size
        )
        _TAGGERS[key] = tagger
    return tagger


def tag(
    df: Any,
    model_dir: str | os.PathLike[str],
    tokens: str = "tokens",
    *,
    last: bool = False,
    threads: int = 1,
    batch_size: int = 512,
    nbest: int = 0,
) -> Any:
    """``df`` tagged: one output row per input row, in the predictions
    schema (``sentence_id`` and gold ``tags`` kept where ``df`` has them).

    ``threads`` is per Spark task: Spark runs one task per core already.
    """
    model_dir = os.fspath(model_dir)
    target = arrow_schema()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        tagger = _tagger(model_dir, last, threads, batch_size)
        for batch in batches:
            out = tagger.predictions_arrow(batch, tokens=tokens, nbest=nbest, source=model_dir)
            yield out.cast(target)

    return df.mapInArrow(run, spark_schema())


def _local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def write(df: Any, output: str) -> None:
    """Writes ``df`` as Parquet shards to ``output``: for a local path into
    a folder beside it, renamed to ``output`` once every shard is whole (an
    ``output`` already there is replaced only then); elsewhere through
    Spark's output committer."""
    if not _local(output):
        df.write.mode("errorifexists").parquet(output)
        return
    path = output.removeprefix("file://").rstrip("/")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        df.write.parquet(tmp)
        if os.path.exists(path):
            old = f"{tmp}.old"
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ner_toolkit.spark",
        description="Tag a sentences Parquet file (or a folder of shards) on Spark.",
    )
    parser.add_argument("input", help="sentences Parquet file or folder (ner-convert's schema)")
    parser.add_argument("output", help="folder of predictions Parquet shards to write")
    parser.add_argument("--model", required=True, help="model folder")
    parser.add_argument(
        "--master", default=None, help="Spark master, e.g. local[2] (under spark-submit: its own)"
    )
    parser.add_argument("--tokens", default="tokens", help="token column (default: tokens)")
    parser.add_argument("--last", action="store_true", help="weights after the last epoch")
    parser.add_argument("--threads", type=int, default=1, help="tagging threads per Spark task")
    parser.add_argument("--nbest", type=int, default=0, help="n best paths (CRF models)")
    parser.add_argument("--batch-rows", type=int, default=10000, help="rows per Arrow batch handed to the tagger")
    args = parser.parse_args(argv)

    if os.path.exists(args.model) and not os.path.exists(os.path.join(args.model, "config.json")):
        print(f"{args.model}: not a model folder (no config.json)", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("ner-toolkit spark-tag")
    if args.master:
        builder = builder.master(args.master)
    session = (
        builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch_rows))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        if not os.path.isdir(_resolve(args.model)):
            print(
                f"{args.model}: no such model folder here, nor shipped to Spark "
                "(spark-submit --archives model.tar.gz#name)",
                file=sys.stderr,
            )
            return 2
        started = time.perf_counter()
        df = session.read.parquet(args.input)
        out = tag(df, args.model, args.tokens, last=args.last, threads=args.threads, nbest=args.nbest)
        write(out, args.output)
        seconds = time.perf_counter() - started
        n = session.read.parquet(args.output).count()
        print(f"{n} sentences tagged into {args.output} in {seconds:.1f} s ({n / max(seconds, 1e-9):.0f} sentences/s)")
    finally:
        session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
