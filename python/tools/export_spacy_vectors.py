"""Export a spaCy pipeline's word vectors for `ner-vectors`.

Usage: python export_spacy_vectors.py PIPELINE_DIR OUT_DIR

spaCy keeps a vectors table as a matrix (`nlp.vocab.vectors.data`, one row
per distinct vector) and a map from string hashes to rows (`key2row`; many
keys may share a row), the strings themselves in `nlp.vocab.strings`. This
writes the two as they are, without printing a single number as text:

- `OUT_DIR/vectors.npy`: the matrix, float32, C order (NumPy's format);
- `OUT_DIR/keys.jsonl`: one JSON array `[word, row]` per key, sorted by word.

`ner-vectors OUT_DIR -o data/vectors/NAME` turns them into the toolkit's
vectors folder. Only the vocabulary is loaded (no tagger, parser or NER).
"""

import json
import os
import sys


def main(pipeline: str, out: str) -> None:
    import numpy as np
    import spacy

    nlp = spacy.load(pipeline, exclude=["tok2vec", "tagger", "parser", "senter", "ner",
                                        "attribute_ruler", "lemmatizer"])
    vectors = nlp.vocab.vectors
    if vectors.shape[0] == 0:
        sys.exit(f"{pipeline}: the pipeline has no vectors")
    matrix = np.ascontiguousarray(vectors.data, dtype=np.float32)
    strings = nlp.vocab.strings
    keys = sorted((strings[key], int(row)) for key, row in vectors.key2row.items()
                  if key in strings)
    os.makedirs(out, exist_ok=True)
    tmp_matrix, tmp_keys = f"{out}/.vectors.npy.tmp", f"{out}/.keys.jsonl.tmp"
    with open(tmp_matrix, "wb") as f:
        np.save(f, matrix)
    with open(tmp_keys, "w", encoding="utf-8") as f:
        for word, row in keys:
            f.write(json.dumps([word, row], ensure_ascii=False))
            f.write("\n")
    # The keys last: a folder with keys.jsonl is complete.
    os.replace(tmp_matrix, f"{out}/vectors.npy")
    os.replace(tmp_keys, f"{out}/keys.jsonl")
    print(f"{pipeline}: {len(keys)} keys onto {matrix.shape[0]} rows of {matrix.shape[1]} -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
