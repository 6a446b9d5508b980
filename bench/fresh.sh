#!/usr/bin/env bash
# A new user's first two commands on an empty cache: `make train
# MODEL=bilstm3`, then `make test`, from a clone of COMMIT in a temporary
# folder with a temporary CACHE_DIR (the cargo registry and pip's download
# cache stay as they are). Every output line is stamped with the seconds
# since the command started.
# Usage: bench/fresh.sh [COMMIT] [LOG_PREFIX]   (default: HEAD, /tmp/fresh)
# Writes LOG_PREFIX.train.log and LOG_PREFIX.test.log, each ending with
# "rc N", and removes the clone and the cache at the end.
set -uo pipefail
commit=${1:-HEAD} logs=${2:-/tmp/fresh}
repo=$(git rev-parse --show-toplevel)
conll=${CONLL_DIR:-$repo/../shared/conll2003}
[ -f "$conll/eng.train" ] || { echo "error: no CoNLL-2003 at $conll (set CONLL_DIR)" >&2; exit 2; }
conll=$(cd "$conll" && pwd)
work=$(mktemp -d) cache=$(mktemp -d)
trap 'rm -rf "$work" "$cache"' EXIT
git clone -q "$repo" "$work/main" && git -C "$work/main" checkout -q "$commit" || exit 2
cd "$work/main"
# Nothing of this shell's build set-up leaks in: only the Makefile's own.
unset CARGO_TARGET_DIR VIRTUAL_ENV LIBTORCH_USE_PYTORCH
PATH=$(tr ':' '\n' <<<"$PATH" | grep -v ner-toolkit | paste -sd:)
export CACHE_DIR=$cache NER_CONLL_DIR=$conll PATH
stamped() {
  local start=$SECONDS
  "$@" 2>&1 | while IFS= read -r line; do echo "$((SECONDS - start)) $line"; done
  echo "rc ${PIPESTATUS[0]}"
}
stamped make train MODEL=bilstm3 CONLL_DIR="$conll" > "$logs.train.log"
stamped make test CONLL_DIR="$conll" > "$logs.test.log"
grep -m1 -E '^[0-9]+ +1 ' "$logs.train.log" | awk '{print "first epoch printed at " $1 " s"}'
tail -n 2 "$logs.test.log" | head -n 1 | awk '{print "make test done at " $1 " s"}'
tail -n 1 "$logs.test.log"
