"""Tagger.tag, analyze, tag_arrow and entities against ner-predict on the
whole CoNLL-2003 validation split; read_conll and conlleval against
ner-convert and ner-score."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ner_toolkit
from conftest import run


@pytest.fixture(scope="module")
def tagger(trained):
    return ner_toolkit.Tagger(trained.model)


def test_tag_equals_ner_predict(tagger, reference):
    tokens = reference.column("tokens").to_pylist()
    assert len(tokens) == 3250
    assert tagger.tag(tokens) == reference.column("pred_tags").to_pylist()


def test_analyze_gives_the_probabilities_ner_predict_writes(tagger, reference):
    # The whole split, batched as ner-predict batches it: a character CNN's
    # features see the batch's padding, so other batchings move the
    # probabilities in the third decimal.
    tokens = reference.column("tokens").to_pylist()
    analyses = tagger.analyze(tokens, nbest=3)
    probs = reference.column("pred_probs").to_pylist()
    entity_probs = reference.column("entity_probs").to_pylist()
    for a, p, e in zip(analyses, probs, entity_probs):
        assert a["probs"] == pytest.approx(p, abs=1e-6)
        assert [x["confidence"] for x in a["entities"]] == pytest.approx(e, abs=1e-6)
        best_tags, best_p = a["nbest"][0]
        assert best_tags == a["tags"]
        assert 1 <= len(a["nbest"]) <= 3 and all(0 < q <= best_p for _, q in a["nbest"])
        assert sum(q for _, q in a["nbest"]) <= 1 + 1e-9


def test_a_words_only_model_scores_each_sentence_alone(trained):
    words = ner_toolkit.Tagger(trained.words_model)
    reference = pq.read_table(trained.words_predictions)
    rows = list(range(0, reference.num_rows, 7))
    out = words.tag_arrow(pq.read_table(trained.valid).take(rows))
    for name in ["pred_tags", "pred_probs"]:
        assert out.column(name).to_pylist() == reference.take(rows).column(name).to_pylist(), name
    with pytest.raises(ValueError, match="n-best paths need a CRF model"):
        words.analyze([["EU"]], nbest=2)


def test_an_ensemble_decodes_as_ner_predict(bins, trained, reference):
    # The CRF model and the words-only one (the same tags) as one ensemble,
    # by either rule, tag the split as `ner-predict --ensemble` does.
    tokens = reference.column("tokens").to_pylist()
    probs = {}
    for rule in ["mixture", "product"]:
        out = trained.work / f"valid.ensemble.{rule}.parquet"
        run(bins / "ner-predict", trained.model, trained.valid, "--ensemble", trained.words_model,
            "--combine", rule, "--parquet", out)
        expected = pq.read_table(out)
        ensemble = ner_toolkit.Tagger(trained.model, ensemble=[trained.words_model], combine=rule)
        assert ensemble.ensemble == [trained.words_model] and ensemble.combine == rule
        assert f"combine={rule!r}" in repr(ensemble).replace('"', "'")
        analyses = ensemble.analyze(tokens)
        assert [a["tags"] for a in analyses] == expected.column("pred_tags").to_pylist()
        for a, p in zip(analyses, expected.column("pred_probs").to_pylist()):
            assert a["probs"] == pytest.approx(p, abs=1e-6)
        probs[rule] = [a["probs"] for a in analyses]
    assert probs["mixture"] != probs["product"]


def test_tag_arrow_record_batch_and_table(tagger, trained, reference):
    table = pq.read_table(trained.valid)
    out = tagger.tag_arrow(table)
    assert isinstance(out, pa.Table)
    assert out.num_rows == table.num_rows
    # The caller's columns first, untouched, then the tagger's.
    assert out.column_names == table.column_names + ["pred_tags", "pred_probs", "entities"]
    assert out.select(table.column_names).equals(table)
    assert out.column("pred_tags").to_pylist() == reference.column("pred_tags").to_pylist()
    assert out.schema.metadata == table.schema.metadata
    batch = table.to_batches()[0].slice(0, 500)
    one = tagger.tag_arrow(batch)
    assert isinstance(one, pa.RecordBatch)
    assert one.column("pred_tags").to_pylist() == reference.column("pred_tags").to_pylist()[:500]
    entities = one.column("entities").to_pylist()
    for row, (tokens, spans) in enumerate(zip(batch.column("tokens").to_pylist(), entities)):
        for e in spans:
            assert e["text"] == " ".join(tokens[e["start"]:e["end"]])
            assert 0.0 < e["confidence"] <= 1.0
    assert [len(spans) for spans in entities] == [len(p) for p in reference.column("entity_probs").to_pylist()[:500]]
    whole = out.column("entities").to_pylist()
    flat = [e["confidence"] for spans in whole for e in spans]
    ref = [p for ps in reference.column("entity_probs").to_pylist() for p in ps]
    assert flat == pytest.approx(ref, abs=1e-6)
    assert out.column("pred_probs").to_pylist() == reference.column("pred_probs").to_pylist()


def test_tag_arrow_reads_other_string_layouts(tagger, reference):
    tokens = reference.column("tokens").to_pylist()[:50]
    expected = reference.column("pred_tags").to_pylist()[:50]
    for kind in [pa.large_list(pa.large_string()), pa.list_(pa.string_view()), pa.large_list(pa.string())]:
        t = pa.table({"words": pa.array(tokens, type=kind)})
        assert tagger.tag_arrow(t, tokens="words").column("pred_tags").to_pylist() == expected, kind


def test_entities_from_raw_text_as_ner_predict(tagger, trained):
    text = trained.text.read_text(encoding="utf-8")
    found = tagger.entities(text)
    expected = [json.loads(line) for line in trained.entities.read_text().splitlines()]
    assert [(e["sentence"], e["text"], e["type"], e["start"], e["end"]) for e in found] == [
        (e["sentence_id"], e["text"], e["type"], e["start"], e["end"]) for e in expected
    ]
    assert [e["confidence"] for e in found] == pytest.approx([e["confidence"] for e in expected])
    lines = text.split("\n")
    for e in found:
        # Character offsets are into the whole text.
        span = text[e["char_start"]:e["char_end"]]
        assert span.replace(" ", "") == e["text"].replace(" ", ""), (span, e)
        assert span in lines[e["sentence"]]


def test_one_tagger_shared_by_threads(tagger, reference):
    tokens = reference.column("tokens").to_pylist()
    chunks = [tokens[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(tagger.tag, chunks))
    expected = reference.column("pred_tags").to_pylist()
    for i, got in enumerate(results):
        assert got == expected[i::4]


def test_empty_input_is_fine(tagger):
    assert tagger.tag([]) == []
    assert tagger.entities("") == []
    empty = pa.table({"tokens": pa.array([], type=pa.list_(pa.string()))})
    out = tagger.tag_arrow(empty)
    assert out.num_rows == 0 and "pred_tags" in out.column_names


def test_properties(tagger, trained):
    assert tagger.model_dir == trained.model
    assert tagger.weights.name == "best.safetensors"
    assert ner_toolkit.Tagger(trained.model, last=True).weights.name == "model.safetensors"
    assert "O" in tagger.tags and tagger.scheme == "iob2" and tagger.has_crf
    assert tagger.columns == []
    assert tagger.ensemble == [] and tagger.combine == "mixture"


def test_read_conll_is_ner_convert(trained):
    table = ner_toolkit.read_conll(trained.valid_conll)
    expected = pq.read_table(trained.valid)
    assert table.equals(expected)
    assert table.schema.metadata[b"ner.kind"] == b"sentences"


def test_conlleval_is_ner_score(bins, trained, reference):
    gold = reference.column("tags").to_pylist()
    pred = reference.column("pred_tags").to_pylist()
    scores, report = ner_toolkit.conlleval(gold, pred)
    out = trained.work / "scores.json"
    done = run(bins / "ner-score", trained.predictions, "--json", out)
    expected = json.loads(out.read_text())
    for key in ["precision", "recall", "f1", "accuracy", "per_type"]:
        assert scores[key] == expected[key], key
    assert report in done.stdout
    assert report.startswith("processed 51362 tokens with")
