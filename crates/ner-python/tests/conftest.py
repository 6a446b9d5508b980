"""Fixtures: the project's binaries, CoNLL-2003, and a small model trained
here (a char-CNN BiLSTM-CRF, one epoch on the first 1,500 training
sentences) with ner-predict's predictions on the whole validation split as
the reference."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[3]


def _bin_dir() -> Path:
    if os.environ.get("NER_BIN_DIR"):
        return Path(os.environ["NER_BIN_DIR"])
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return Path(target) / "release"


def run(*args: str | os.PathLike[str], **kwargs) -> subprocess.CompletedProcess:
    """Runs a command, failing the test with its output when it fails."""
    done = subprocess.run([os.fspath(a) for a in args], capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="session")
def bins() -> Path:
    bins = _bin_dir()
    for name in ["ner-convert", "ner-vocab", "ner-encode", "ner-train", "ner-predict", "ner-score"]:
        if not (bins / name).exists():
            pytest.fail(f"{bins / name} is missing: run the tests with `make test` (it builds them)")
    return bins


@pytest.fixture(scope="session")
def conll_dir() -> Path:
    d = Path(os.environ.get("NER_CONLL_DIR", ROOT.parent / "shared" / "conll2003"))
    if not (d / "eng.train").exists():
        if os.environ.get("NER_REQUIRE_CONLL") == "1":
            pytest.fail(f"CoNLL-2003 is not at {d} (NER_REQUIRE_CONLL=1)")
        pytest.skip(f"CoNLL-2003 is not at {d}; set NER_CONLL_DIR")
    return d


def head_sentences(src: Path, dst: Path, n: int) -> None:
    """The first `n` sentences of a CoNLL file."""
    out, count = [], 0
    with open(src, encoding="utf-8") as f:
        for line in f:
            out.append(line)
            if not line.strip() and out[-2:-1] and out[-2].strip() and not out[-2].startswith("-DOCSTART-"):
                count += 1
                if count == n:
                    break
    dst.write_text("".join(out), encoding="utf-8")


@dataclass
class Trained:
    model: Path
    valid: Path  # sentences Parquet of the validation split
    valid_conll: Path
    predictions: Path  # ner-predict --parquet on `valid`
    entities: Path  # ner-predict --entities on `text`
    words_model: Path  # a BiLSTM over words alone (no characters)
    words_predictions: Path  # ner-predict --parquet on `valid` with it
    text: Path  # raw text, one sentence a line
    work: Path


@pytest.fixture(scope="session")
def trained(bins: Path, conll_dir: Path, tmp_path_factory) -> Trained:
    work = tmp_path_factory.mktemp("trained")
    head_sentences(conll_dir / "eng.train", work / "train.conll", 1500)
    run(bins / "ner-convert", work / "train.conll", "-o", work / "train.parquet")
    run(bins / "ner-convert", conll_dir / "eng.testa", "-o", work / "valid.parquet")
    run(bins / "ner-vocab", work / "train.parquet", "-o", work / "vocab")
    for split in ["train", "valid"]:
        run(bins / "ner-encode", work / f"{split}.parquet", "--vocab-dir", work / "vocab",
            "-o", work / f"{split}.arrow", "--order", "bucket" if split == "train" else "sequential",
            "--max-word-chars", "20", "-q")
    model = work / "model"
    run(bins / "ner-train", "--pipeline", ROOT / "pipelines" / "char-bilstm-crf.toml",
        "--train", work / "train.arrow", "--valid", work / "valid.arrow", "--vocab-dir", work / "vocab",
        "-o", model, "--epochs", "1", "--no-progress")
    # Without characters a sentence's scores do not depend on the others in
    # its batch (a character CNN's max-pool sees the batch's padding).
    words_model = work / "words-model"
    run(bins / "ner-train", "--pipeline", ROOT / "pipelines" / "bilstm.toml",
        "--train", work / "train.arrow", "--valid", work / "valid.arrow", "--vocab-dir", work / "vocab",
        "-o", words_model, "--epochs", "1", "--no-progress")
    words_predictions = work / "valid.words.predictions.parquet"
    run(bins / "ner-predict", words_model, work / "valid.parquet", "--parquet", words_predictions)
    predictions = work / "valid.predictions.parquet"
    run(bins / "ner-predict", model, work / "valid.parquet", "--parquet", predictions)
    text = work / "news.txt"
    text.write_text(
        "EU rejects German call to boycott British lamb.\n"
        "\n"
        "Peter Blackburn, the U.S. envoy, met officials of the European Commission in Brussels.\n"
        "Germany's representative to the European Union's veterinary committee Werner Zwingmann said on Wednesday.\n",
        encoding="utf-8",
    )
    entities = work / "news.entities.jsonl"
    run(bins / "ner-predict", model, text, "--entities", entities)
    return Trained(model, work / "valid.parquet", conll_dir / "eng.testa", predictions, entities,
                   words_model, words_predictions, text, work)


@pytest.fixture(scope="session")
def reference(trained: Trained):
    return pq.read_table(trained.predictions)
