"""Trained ner-toolkit taggers from Python, without libtorch.

    >>> import ner_toolkit
    >>> tagger = ner_toolkit.Tagger("models/bilstm")
    >>> tagger.tag([["EU", "rejects", "German", "call"]])
    [['B-ORG', 'O', 'B-MISC', 'O']]

``Tagger`` loads a model folder with ``ner-predict``'s checks (or several of
one tag set as an ensemble: ``ensemble=[...]``, ``combine="mixture"`` or
``"product"``) and tags token lists (``tag``, ``analyze``), raw text
(``entities``) and Arrow data in place (``tag_arrow``). ``read_conll`` and ``conlleval`` are the convert stage and
the scorer; ``ner_toolkit.polars`` and ``ner_toolkit.spark`` put a tagger in
those engines.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ner_toolkit import _native
from ner_toolkit._native import Tagger, predictions_schema

__all__ = ["Tagger", "read_conll", "conlleval", "predictions_schema", "__version__"]
__version__: str = _native.__version__


def read_conll(path: str | os.PathLike[str], scheme: str = "iob2") -> pa.Table:
    """A CoNLL column file as a ``pyarrow.Table`` with ``ner-convert``'s
    sentences schema (and its ``ner.*`` metadata), tags in ``scheme``."""
    with tempfile.TemporaryDirectory(prefix="ner-toolkit-") as tmp:
        out = os.path.join(tmp, "sentences.parquet")
        _native.convert(os.fspath(path), out, scheme)
        return pq.read_table(out)


def conlleval(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str = "iob2"
) -> tuple[dict[str, Any], str]:
    """Scores predicted tag lists against gold ones as ``ner-score`` does.

    Returns ``(scores, report)``: the dict ``ner-score`` writes as
    ``scores.json`` (``precision``, ``recall``, ``f1``, ``accuracy``,
    ``per_type``, counts, ...) and conlleval's report text.
    """
    scores, report = _native.conlleval(
        [list(s) for s in gold], [list(s) for s in predicted], scheme
    )
    return json.loads(scores), report
