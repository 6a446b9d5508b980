"""A tagger as a polars expression.

    >>> import polars as pl
    >>> import ner_toolkit.polars as ntp
    >>> df = pl.read_parquet("data/interim/test.parquet")
    >>> df.with_columns(pred=ntp.tag("tokens", model="models/bilstm"))

Works eagerly and lazily; the model folder is loaded once per process and
kept for later calls with the same options.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from polars.plugins import register_plugin_function

_LIB = Path(__file__).parent


def tag(
    tokens: str | pl.Expr,
    model: str | os.PathLike[str],
    *,
    last: bool = False,
    threads: int | None = None,
    batch_size: int = 512,
) -> pl.Expr:
    """Predicted tags (``list[str]``) for a ``list[str]`` column of tokens.

    A null row, a null or empty token raises ``polars.exceptions.ComputeError``
    naming the column and the row, counted within the chunk polars hands over
    (the whole column unless it is chunked or streamed).
    """
    return register_plugin_function(
        plugin_path=_LIB,
        function_name="tag",
        args=[pl.col(tokens) if isinstance(tokens, str) else tokens],
        kwargs={
            "model": os.fspath(model),
            "last": last,
            "threads": threads,
            "batch_size": batch_size,
        },
        # A row's tags depend on that row alone: polars may split the
        # column into chunks and stream.
        is_elementwise=True,
    )
