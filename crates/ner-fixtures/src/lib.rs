//! Test fixtures for the crates that must build and test without libtorch
//! (`ner-predict`, the server, the Python package): a tiny CoNLL corpus
//! converted to sentences, its vocabularies, and a model folder whose
//! weights are deterministic pseudo-random numbers in the layout
//! `ner-train` writes. Such a model tags nonsense, but every path that
//! reads a model folder — the card, the vocabulary checks, the weights, the
//! outputs — runs for real on it.
//!
//! ```no_run
//! let root = std::env::temp_dir().join("fixture");
//! let model = ner_fixtures::Fixture::new(&root).model(ner_fixtures::BIGRU)?;
//! println!("{}", model.root().display());
//! # Ok::<(), ner_fixtures::Error>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ner_core::schema::vocab::VocabDir;
use ner_model::card::{ModelCard, TaggerSpec, Vocabularies};
use ner_model::config::{CharEncoder, OutputLayer, Pipeline, WordInput};
use ner_model::folder::{ModelDir, Weights};
use safetensors::tensor::{Dtype, TensorView};

/// A small training corpus (CoNLL-2003's first lines, IOB2).
pub const TRAIN: &str = "\
EU B-ORG
rejects O
German B-MISC
call O

Peter B-PER
Blackburn I-PER

BRUSSELS B-LOC
1996-08-22 O
";

/// A one-hot bidirectional GRU with a softmax.
pub const BIGRU: &str = "description = \"tiny\"\n[model]\ncell = \"gru\"\nbidirectional = true\n\
    layers = 1\nhidden = 8\ninput = \"onehot\"\n[train]\nepochs = 2\nlr = 0.01\nbatch_size = 2\n";

/// Embeddings, a character CNN, casing, a BiLSTM and a CRF.
pub const CHAR_CRF: &str = "[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 1\n\
    hidden = 8\ninput = \"embedding\"\nembedding_dim = 8\nchars = \"cnn\"\nchar_dim = 4\n\
    char_hidden = 5\ncasing_dim = 2\noutput = \"crf\"\n[train]\nepochs = 30\nlr = 0.02\n\
    batch_size = 2\n";

/// Why a fixture could not be made.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A folder holding the corpus (`train.txt`), its sentences
/// (`train.parquet`) and vocabularies (`vocab/`), built on first use.
#[derive(Debug, Clone)]
pub struct Fixture {
    root: PathBuf,
}

impl Fixture {
    pub fn new(root: &Path) -> Fixture {
        Fixture {
            root: root.to_path_buf(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The vocabularies of `TRAIN` (written with its sentences when missing).
    pub fn vocab(&self) -> Result<VocabDir, Error> {
        let vocab = VocabDir::new(self.path("vocab"));
        if !vocab.words().exists() {
            std::fs::write(self.path("train.txt"), TRAIN)?;
            ner_convert::convert(&ner_convert::Config::new(
                self.path("train.txt"),
                self.path("train.parquet"),
            ))?;
            ner_vocab::build(&ner_vocab::Config::new(
                self.path("train.parquet"),
                vocab.root(),
            ))?;
        }
        Ok(vocab)
    }

    /// A model folder `model/` for `pipeline` (TOML) over the vocabularies.
    pub fn model(&self, pipeline: &str) -> Result<ModelDir, Error> {
        self.model_in("model", pipeline)
    }

    /// A model folder `name/` for `pipeline` (TOML), with its vocabularies
    /// copied in, `config.json`, and the same deterministic weights as
    /// `best.safetensors` and `model.safetensors`.
    pub fn model_in(&self, name: &str, pipeline: &str) -> Result<ModelDir, Error> {
        let pipeline: Pipeline = toml::from_str(pipeline)?;
        pipeline.check()?;
        let vocab = self.vocab()?;
        let dir = ModelDir::new(self.path(name));
        let own = dir.vocab();
        std::fs::create_dir_all(own.root())?;
        for (from, to) in [
            (vocab.words(), own.words()),
            (vocab.chars(), own.chars()),
            (vocab.tags(), own.tags()),
        ] {
            std::fs::copy(from, to)?;
        }
        let vocabs = Vocabularies::read(&vocab)?;
        let tagset = vocabs.tag_set(&pipeline.model)?;
        let spec = TaggerSpec::new(&vocabs, &tagset);
        let tensors = weights(&pipeline, &spec);
        let n_parameters = tensors.values().map(|(_, v)| v.len() as i64).sum();
        // Little-endian bytes, the layout safetensors stores.
        let bytes: Vec<(&String, &Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(name, (shape, values))| {
                (
                    name,
                    shape,
                    values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                )
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = bytes
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.to_vec(), bytes).map(|v| (name.to_string(), v))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{e:?}"))?;
        let serialized = safetensors::serialize(views, &None).map_err(|e| format!("{e:?}"))?;
        std::fs::write(dir.weights(Weights::Best), &serialized)?;
        std::fs::write(dir.weights(Weights::Last), &serialized)?;
        let card = ModelCard {
            format_version: ner_core::schema::FORMAT_VERSION,
            created_by: "ner-fixtures".into(),
            name: name.into(),
            n_words: spec.n_words,
            n_tags: spec.tags.len() as i64,
            tags: tagset.data_tags().to_vec(),
            scheme: tagset.data_scheme().to_string(),
            lowercase: vocabs.lowercase().to_string(),
            words_file: vocab.words().display().to_string(),
            words_sha256: vocabs.words_sha.clone(),
            tags_file: vocab.tags().display().to_string(),
            tags_sha256: vocabs.tags_sha.clone(),
            chars_file: vocab.chars().display().to_string(),
            chars_sha256: vocabs.chars_sha.clone(),
            max_word_chars: None,
            vectors: None,
            columns: Vec::new(),
            train_file: "train.arrow".into(),
            valid_file: "train.arrow".into(),
            n_parameters,
            epochs_done: pipeline.train.epochs,
            best_epoch: pipeline.train.epochs,
            pipeline,
        };
        card.write(&dir)?;
        Ok(dir)
    }
}

/// Every tensor of the model `pipeline` describes over `spec`, named and
/// shaped as `ner-train` writes them, filled with values in ±0.5.
fn weights(pipeline: &Pipeline, spec: &TaggerSpec) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let m = &pipeline.model;
    let positive = |v: i64| usize::try_from(v).unwrap_or(0);
    let (hidden, n_dirs) = (positive(m.hidden), if m.bidirectional { 2 } else { 1 });
    let g = m.cell.gates() * hidden;
    let (n_words, n_chars, n_tags) = (
        positive(spec.n_words),
        positive(spec.n_chars),
        spec.tags.len(),
    );
    let mut out = HashMap::new();
    let mut seed = 1u64;
    let mut add = |name: String, shape: Vec<usize>| {
        seed += 1;
        let n = shape.iter().product();
        out.insert(name, (shape, values(n, seed)));
    };
    let suffix = |d: usize| if d == 0 { "" } else { "_reverse" };
    let (char_hidden, char_dim) = (positive(m.char_hidden), positive(m.char_dim));
    let char_out = match m.chars {
        CharEncoder::None => 0,
        CharEncoder::Cnn => char_hidden,
        CharEncoder::Lstm => 2 * char_hidden,
    };
    let word_dim = positive(m.embedding_dim) + char_out + positive(m.casing_dim);
    match m.input {
        WordInput::Onehot => {
            for d in 0..n_dirs {
                add(
                    format!("onehot.weight_ih_l0{}", suffix(d)),
                    vec![n_words, g],
                );
            }
        }
        WordInput::Embedding => add(
            "embedding.weight".into(),
            vec![n_words, positive(m.embedding_dim)],
        ),
    }
    match m.chars {
        CharEncoder::None => {}
        CharEncoder::Cnn => {
            add("chars.embedding.weight".into(), vec![n_chars, char_dim]);
            add(
                "chars.conv.weight".into(),
                vec![char_hidden, char_dim, positive(m.char_kernel)],
            );
            add("chars.conv.bias".into(), vec![char_hidden]);
        }
        CharEncoder::Lstm => {
            add("chars.embedding.weight".into(), vec![n_chars, char_dim]);
            for d in 0..2 {
                let s = suffix(d);
                add(
                    format!("chars.lstm.weight_ih_l0{s}"),
                    vec![4 * char_hidden, char_dim],
                );
                add(
                    format!("chars.lstm.weight_hh_l0{s}"),
                    vec![4 * char_hidden, char_hidden],
                );
                add(format!("chars.lstm.bias_ih_l0{s}"), vec![4 * char_hidden]);
                add(format!("chars.lstm.bias_hh_l0{s}"), vec![4 * char_hidden]);
            }
        }
    }
    if m.casing_dim > 0 {
        add(
            "casing.embedding.weight".into(),
            vec![ner_kernels::CASING_CLASSES, positive(m.casing_dim)],
        );
    }
    for l in 0..positive(m.layers) {
        let input = match l {
            0 => word_dim,
            _ => hidden * n_dirs,
        };
        for d in 0..n_dirs {
            let s = suffix(d);
            if !(l == 0 && m.input == WordInput::Onehot) {
                add(format!("rnn.weight_ih_l{l}{s}"), vec![g, input]);
            }
            add(format!("rnn.weight_hh_l{l}{s}"), vec![g, hidden]);
            add(format!("rnn.bias_ih_l{l}{s}"), vec![g]);
            add(format!("rnn.bias_hh_l{l}{s}"), vec![g]);
        }
    }
    add("output.weight".into(), vec![n_tags, hidden * n_dirs]);
    add("output.bias".into(), vec![n_tags]);
    if m.output == OutputLayer::Crf {
        add("crf.transitions".into(), vec![n_tags, n_tags]);
        add("crf.start".into(), vec![n_tags]);
        add("crf.end".into(), vec![n_tags]);
    }
    out
}

/// `n` values in ±0.5 from a fixed sequence.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ner_core::rng::SplitMix64::new(seed);
    (0..n)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        .collect()
}

/// The checkout's root folder: the nearest folder holding `Cargo.lock`
/// above the manifest of the package under test.
///
/// Read at run time (`cargo test` sets `CARGO_MANIFEST_DIR`): the target
/// folder is shared between checkouts, so a test binary built in another
/// checkout may be reused for this one, with that checkout's paths compiled in.
pub fn checkout_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .unwrap_or(&manifest_dir)
        .to_path_buf()
}

/// The CoNLL-2003 folder, if this machine has it: `NER_CONLL_DIR`, or
/// `shared/conll2003` beside the checkout at `root`. When the data is
/// missing the caller skips, unless `NER_REQUIRE_CONLL=1` (as in CI).
pub fn conll2003_dir(root: &Path) -> Option<PathBuf> {
    let dir = std::env::var_os("NER_CONLL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/conll2003"));
    if dir.join("eng.train").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("NER_REQUIRE_CONLL").as_deref() != Ok("1"),
        "NER_REQUIRE_CONLL=1 but {} has no eng.train",
        dir.display()
    );
    eprintln!("skipping: no CoNLL-2003 files in {}", dir.display());
    None
}
