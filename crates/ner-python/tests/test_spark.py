"""The Spark job (local[2], a real Spark) over a 4-shard input against one
ner-predict run; a failing job leaves no output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def spark_tag(*args) -> subprocess.CompletedProcess:
    if shutil.which("java") is None:
        pytest.fail("Spark needs a Java runtime: `make setup` installs one")
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    return subprocess.run(
        [sys.executable, "-m", "ner_toolkit.spark", "--master", "local[2]", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=600,
    )


def test_four_shards_give_the_rows_of_one_ner_predict_run(trained, tmp_path):
    # A model over words alone: its scores of a sentence do not depend on
    # how Spark batches the rows (a character CNN's would move in the third
    # decimal; its tags are checked in test_tagger).
    reference = pq.read_table(trained.words_predictions)
    table = pq.read_table(trained.valid)
    shards = tmp_path / "shards"
    shards.mkdir()
    n = table.num_rows
    for i in range(4):
        part = table.slice(i * n // 4, (i + 1) * n // 4 - i * n // 4)
        pq.write_table(part, shards / f"part-{i}.parquet")
    out = tmp_path / "predictions"
    done = spark_tag("--model", trained.words_model, shards, out)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "3250 sentences tagged" in done.stdout
    got = pq.read_table(out).sort_by("sentence_id")
    assert got.num_rows == reference.num_rows
    assert got.column("sentence_id").to_pylist() == reference.column("sentence_id").to_pylist()
    for name in ["tokens", "tags", "pred_tags", "pred_probs", "entity_probs", "nbest_tags", "nbest_probs"]:
        assert got.column(name).to_pylist() == reference.column(name).to_pylist(), name
    assert got.schema.field("sentence_id").type == pa.int64()
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".parquet")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".predictions.tmp")]


def test_a_failing_job_writes_nothing(trained, tmp_path):
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"sentence_id": pa.array([0, 1], pa.uint32()), "tokens": [["EU"], ["a", None]]}), bad)
    out = tmp_path / "out"
    done = spark_tag("--model", trained.model, bad, out)
    assert done.returncode != 0
    assert "column 'tokens', row 1: item 1 is null, not a string" in done.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.parquet"]
    done = spark_tag("--model", tmp_path / "no-model", bad, out)
    assert done.returncode == 2
    assert "no-model: no such model folder here, nor shipped to Spark" in done.stderr
    (tmp_path / "empty").mkdir()
    done = spark_tag("--model", tmp_path / "empty", bad, out)
    assert done.returncode == 2
    assert "empty: not a model folder (no config.json)" in done.stderr
