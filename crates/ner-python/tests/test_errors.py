"""Every misuse raises a Python exception with the reason."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pytest

import ner_toolkit


@pytest.fixture(scope="module")
def tagger(trained):
    return ner_toolkit.Tagger(trained.model)


def test_missing_model_files(trained, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*config\.json"):
        ner_toolkit.Tagger(tmp_path / "nowhere")
    for missing, last in [("best.safetensors", False), ("model.safetensors", True)]:
        copy = tmp_path / f"without-{missing}"
        shutil.copytree(trained.model, copy)
        (copy / missing).unlink()
        with pytest.raises(FileNotFoundError, match=rf"without-{missing}/{missing}: No such file"):
            ner_toolkit.Tagger(copy, last=last)


def test_changed_vocabulary_is_refused(trained, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(trained.model, copy)
    shutil.copy(copy / "vocab" / "tags.parquet", copy / "vocab" / "words.parquet")
    with pytest.raises(ValueError, match=r"words\.parquet"):
        ner_toolkit.Tagger(copy)


def test_bad_options(trained):
    with pytest.raises(ValueError, match="threads must be at least 1"):
        ner_toolkit.Tagger(trained.model, threads=0)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        ner_toolkit.Tagger(trained.model, batch_size=0)
    with pytest.raises(ValueError, match=r"unknown ensemble rule 'mean' \(expected mixture or product\)"):
        ner_toolkit.Tagger(trained.model, ensemble=[trained.words_model], combine="mean")
    with pytest.raises(FileNotFoundError, match=r"nowhere.*config\.json"):
        ner_toolkit.Tagger(trained.model, ensemble=[trained.work / "nowhere"])


def test_bad_token_lists(tagger):
    with pytest.raises(ValueError, match=r"sentence 1, token 0: int is not a string"):
        tagger.tag([["EU"], [3]])
    with pytest.raises(ValueError, match=r"sentence 0, token 1: None is not a string"):
        tagger.tag([["EU", None]])
    with pytest.raises(ValueError, match=r"sentence 0 is a string, not a list of tokens"):
        tagger.tag(["EU rejects"])
    with pytest.raises(TypeError, match=r"not a string"):
        tagger.tag("EU rejects")
    with pytest.raises(ValueError, match=r"sentence 0, token 0: an empty token"):
        tagger.tag([[""]])


def test_bad_arrow_columns(tagger):
    with pytest.raises(ValueError, match=r"column 'tokens', row 2: null where a list of tokens must be"):
        tagger.tag_arrow(pa.table({"tokens": [["EU"], ["a"], None]}))
    with pytest.raises(ValueError, match=r"column 'tokens', row 1: item 0 is null, not a string"):
        tagger.tag_arrow(pa.table({"tokens": [["EU", "x"], [None, "y"]]}))
    with pytest.raises(ValueError, match=r"column 'tokens' is List\(.*Int64.*\), not a list of strings"):
        tagger.tag_arrow(pa.table({"tokens": [[1, 2]]}))
    with pytest.raises(ValueError, match=r"column 'tokens' is Utf8, not a list of strings"):
        tagger.tag_arrow(pa.table({"tokens": ["EU rejects"]}))
    with pytest.raises(ValueError, match=r"no column 'words' in the input \(its columns: \[tokens\]\)"):
        tagger.tag_arrow(pa.table({"tokens": [["EU"]]}), tokens="words")
    with pytest.raises(TypeError, match=r"expected a pyarrow RecordBatch or Table"):
        tagger.tag_arrow([["EU"]])


def test_bad_predictions_input(tagger):
    batch = pa.record_batch({"tokens": [["EU", "says"]], "tags": [["B-ORG"]]})
    with pytest.raises(ValueError, match=r"column 'tags', row 0: 1 tags for 2 tokens"):
        tagger.predictions_arrow(batch)
    batch = pa.record_batch({"tokens": [["EU"]], "sentence_id": [-1]})
    with pytest.raises(ValueError, match=r"column 'sentence_id', row 0: null, negative or above"):
        tagger.predictions_arrow(batch)


def test_bad_conll_and_scores(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("EU NNP B-NP B-ORG\nsays VBZ\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.conll:2: "):
        ner_toolkit.read_conll(bad)
    with pytest.raises(FileNotFoundError, match=r"missing\.conll"):
        ner_toolkit.read_conll(tmp_path / "missing.conll")
    with pytest.raises(ValueError, match=r"sentence 0: 1 gold tags and 2 predicted tags"):
        ner_toolkit.conlleval([["O"]], [["O", "O"]])
    with pytest.raises(ValueError, match=r"1 gold sentences and 0 predicted sentences"):
        ner_toolkit.conlleval([["O"]], [])
    with pytest.raises(ValueError, match=r"sentence 0: .*X-PER"):
        ner_toolkit.conlleval([["X-PER"]], [["O"]])
    with pytest.raises(ValueError, match=r"unknown|scheme"):
        ner_toolkit.conlleval([["O"]], [["O"]], scheme="bilou")
