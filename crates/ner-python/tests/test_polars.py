"""The polars expression against ner-predict, eager and lazy."""

from __future__ import annotations

import polars as pl
import pytest

import ner_toolkit
import ner_toolkit.polars as ntp


def test_eager_and_lazy_equal_ner_predict(trained, reference):
    expected = reference.column("pred_tags").to_pylist()
    df = pl.read_parquet(trained.valid)
    eager = df.with_columns(pred=ntp.tag("tokens", model=trained.model))
    assert eager["pred"].to_list() == expected
    assert eager.columns == df.columns + ["pred"]
    lazy = (
        pl.scan_parquet(trained.valid)
        .with_columns(pred=ntp.tag(pl.col("tokens"), model=str(trained.model)))
        .select("sentence_id", "pred")
        .collect()
    )
    assert lazy["pred"].to_list() == expected
    assert lazy["sentence_id"].to_list() == reference.column("sentence_id").to_pylist()


def test_filters_and_groups(trained, reference):
    # Elementwise: a filter before the expression tags only the rows kept.
    expected = reference.column("pred_tags").to_pylist()
    df = (
        pl.scan_parquet(trained.valid)
        .filter(pl.col("sentence_id") % 7 == 0)
        .with_columns(pred=ntp.tag("tokens", model=trained.model))
        .collect()
    )
    assert df["pred"].to_list() == expected[::7]


def test_bad_columns_raise_with_the_reason(trained):
    with pytest.raises(pl.exceptions.ComputeError, match=r"column 'tokens', row 1: null where a list of tokens must be"):
        pl.DataFrame({"tokens": [["EU"], None]}).with_columns(p=ntp.tag("tokens", model=trained.model))
    with pytest.raises(pl.exceptions.ComputeError, match=r"column 'tokens', row 0: item 1 is null"):
        pl.DataFrame({"tokens": [["EU", None]]}).with_columns(p=ntp.tag("tokens", model=trained.model))
    with pytest.raises(pl.exceptions.ComputeError, match=r"column 'n' is .*not a list of strings"):
        pl.DataFrame({"n": [[1, 2]]}).with_columns(p=ntp.tag("n", model=trained.model))
    with pytest.raises(pl.exceptions.ComputeError, match=r"no-such-model.*config.json"):
        pl.DataFrame({"tokens": [["EU"]]}).with_columns(p=ntp.tag("tokens", model="no-such-model"))


def test_a_column_of_several_chunks(trained, reference):
    # An elementwise expression: polars may hand the plugin each chunk on
    # its own; the tags come back in row order all the same.
    expected = reference.column("pred_tags").to_pylist()
    df = pl.read_parquet(trained.valid).select("tokens")
    halves = pl.concat([df[:100], df[100:]], rechunk=False)
    assert halves["tokens"].n_chunks() == 2
    tagged = halves.with_columns(pred=ntp.tag("tokens", model=trained.model))
    assert tagged["pred"].to_list() == expected
    bad = pl.concat([df[:3], pl.DataFrame({"tokens": [["EU", ""]]})]).rechunk()
    with pytest.raises(pl.exceptions.ComputeError, match=r"column 'tokens', row 3: item 1 is an empty token"):
        bad.with_columns(p=ntp.tag("tokens", model=trained.model))


def test_long_tokens(trained):
    # Tokens past 12 bytes sit in a string view's data buffers, not inline.
    sentences = [["Internationalisation", "of", "Schleswig-Holstein", "markets"], ["EU", "rejects"]]
    tagged = pl.DataFrame({"tokens": sentences}).with_columns(p=ntp.tag("tokens", model=trained.model))
    assert tagged["p"].to_list() == ner_toolkit.Tagger(trained.model).tag(sentences)
