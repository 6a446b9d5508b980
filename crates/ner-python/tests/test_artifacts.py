"""Every stage's output opens with Python's polars, as users open it, and
what polars reads agrees with what the stages say they wrote."""

from __future__ import annotations

import polars as pl

STRINGS = pl.List(pl.String)


def test_sentences_open_with_polars(trained):
    valid = pl.read_parquet(trained.valid)
    assert valid.schema == pl.Schema({
        "sentence_id": pl.UInt32, "doc_id": pl.UInt32, "line": pl.UInt32,
        "tokens": STRINGS, "tags": STRINGS, "pos": STRINGS, "chunk": STRINGS,
    })
    assert valid.height == 3250
    assert valid["sentence_id"].to_list() == list(range(3250))
    same_lengths = valid.select(
        (pl.col(c).list.len() == pl.col("tokens").list.len()).all() for c in ["tags", "pos", "chunk"]
    )
    assert same_lengths.row(0) == (True, True, True)


def test_vocabularies_open_with_polars_and_match_its_counts(trained):
    vocab = trained.work / "vocab"
    schema = {"id": pl.UInt32, "count": pl.UInt64}
    words = pl.read_parquet(vocab / "words.parquet")
    assert words.schema == pl.Schema({"token": pl.String, **schema})
    chars = pl.read_parquet(vocab / "chars.parquet")
    assert chars.schema == pl.Schema({"char": pl.String, **schema})
    tags = pl.read_parquet(vocab / "tags.parquet")
    assert tags.schema == pl.Schema({"tag": pl.String, **schema})
    assert words["id"].to_list() == list(range(words.height))
    assert words["token"][:2].to_list() == ["<PAD>", "<UNK>"]

    # polars' own count of the training tokens is the vocabulary's.
    train = pl.read_parquet(trained.work / "train.parquet")
    for column, table, key in [("tokens", words, "token"), ("tags", tags, "tag")]:
        counted = (
            train.select(pl.col(column).explode(empty_as_null=False).alias(key))
            .group_by(key)
            .len(name="count")
            .with_columns(pl.col("count").cast(pl.UInt64))
        )
        listed = table.filter(~pl.col(key).is_in(["<PAD>", "<UNK>"])).select(key, "count")
        assert counted.sort(key).equals(listed.sort(key)), column
    # Descending counts, ties in order of first appearance (the course's
    # Counter.most_common()).
    first_seen = (
        train.select(pl.col("tokens").explode(empty_as_null=False).alias("token"))
        .with_row_index("at")
        .group_by("token")
        .agg(pl.col("at").min(), pl.len().alias("n"))
        .sort(["n", "at"], descending=[True, False])
    )
    assert first_seen["token"].to_list() == words["token"][2:].to_list()


def test_batches_open_with_polars(trained):
    for split, rows in [("train", 1500), ("valid", 3250)]:
        batches = pl.read_ipc(trained.work / f"{split}.arrow", memory_map=False)
        assert batches.schema == pl.Schema({
            "sentence_id": pl.UInt32, "length": pl.UInt32, "word_ids": pl.List(pl.Int64),
            "tag_ids": pl.List(pl.Int64), "char_ids": pl.List(pl.List(pl.Int32)),
        })
        assert batches.height == rows
        assert sorted(batches["sentence_id"].to_list()) == list(range(rows))
        # Padded rows: every id past a sentence's length is <PAD> (0), none before it.
        checks = batches.select(
            (pl.col("word_ids").list.len() >= pl.col("length")).all().alias("padded"),
            pl.col("word_ids").list.head(pl.col("length")).list.eval(pl.element() != 0).list.all().all()
            .alias("real"),
            pl.col("word_ids").list.slice(pl.col("length")).list.eval(pl.element() == 0).list.all().all()
            .alias("pad"),
        )
        assert checks.row(0) == (True, True, True), split


def test_predictions_open_with_polars(trained):
    predictions = pl.read_parquet(trained.predictions)
    assert predictions.schema == pl.Schema({
        "sentence_id": pl.UInt32, "tokens": STRINGS, "tags": STRINGS, "pred_tags": STRINGS,
        "pred_probs": pl.List(pl.Float32), "entity_probs": pl.List(pl.Float32),
        "nbest_tags": pl.List(STRINGS), "nbest_probs": pl.List(pl.Float64),
    })
    assert predictions.height == 3250
    in_range = predictions.select(
        pl.col("pred_probs").explode(empty_as_null=False).is_between(0.0, 1.0).all(),
        (pl.col("pred_tags").list.len() == pl.col("tokens").list.len()).all(),
    )
    assert in_range.row(0) == (True, True)
