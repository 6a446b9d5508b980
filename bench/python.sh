#!/usr/bin/env bash
# ner_toolkit against ner-predict: tag_arrow and the polars expression on
# the test split (same model, same threads), then the Spark job (local[2])
# on a corpus SCALE times the training split against ner-predict on the
# same file: sentences per second and peak memory.
# Usage: bench/python.sh PYTHON BIN_DIR MODELS_DIR TEST_PARQUET TRAIN SCALE MODEL...
set -euo pipefail
python=$1 bin=$2 models=$3 test=$4 train=$5 scale=$6; shift 6
here=$(cd "$(dirname "$0")" && pwd)
exec "$python" "$here/python_bench.py" --bin "$bin" --models "$models" --test "$test" \
  --train "$train" --scale "$scale" "$@"
