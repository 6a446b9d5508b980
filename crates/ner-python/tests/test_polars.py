"""The polars expression against ner-predict, eager and lazy."""

from __future__ import annotations

import polars as pl
import pytest

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
