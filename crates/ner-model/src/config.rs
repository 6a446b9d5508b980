//! Pipeline files (`pipelines/<MODEL>.toml`): a model's architecture and its
//! training hyper-parameters.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{ConfigError, ModelError};

/// A whole pipeline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// One line saying what the model is.
    #[serde(default)]
    pub description: String,
    pub model: ModelConfig,
    pub train: TrainConfig,
    /// What the batches must have been built with (`make` builds them so).
    #[serde(default, skip_serializing_if = "DataConfig::is_unset")]
    pub data: DataConfig,
}

/// The data a pipeline trains on, where it asks for more than `make data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Words lower-cased before lookup (`ner-vocab --lowercase`): `make`
    /// trains such a pipeline on `data/lower/`; `ner-train` refuses
    /// vocabularies built otherwise. Absent: either.
    #[serde(default)]
    pub lowercase: Option<bool>,
    /// Pre-trained vectors the pipeline starts from: the name of a set the
    /// Makefile knows how to fetch (`en_core_web_md`); `make train
    /// EMBEDDINGS=FILE` gives any other file instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors: Option<String>,
    /// With vectors: words the training split lacks are looked up in them
    /// (the extended vocabulary; default), or the vectors only start the
    /// training words' rows (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_vocabulary: Option<bool>,
    /// With vectors: every word that has a vector reads it, frozen
    /// (training words too: the batches are encoded `--static-vectors`);
    /// only words without one train their own row.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub static_vectors: bool,
}

impl DataConfig {
    fn is_unset(&self) -> bool {
        self == &DataConfig::default()
    }
}

/// The recurrent cell: RNN, GRU (and its two gate-fixed variants) or LSTM,
/// the one enum every crate names it with.
pub use ner_kernels::Cell;

/// How word ids enter the first recurrent layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WordInput {
    /// The course's model: the first layer sees the one-hot vector of the
    /// word over the whole vocabulary. Computed as a column lookup of the
    /// first layer's input weights, never as a one-hot tensor.
    Onehot,
    /// A learned embedding of `embedding_dim` feeding the first layer.
    Embedding,
}

/// Character features of each word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharEncoder {
    #[default]
    None,
    /// Convolution over character embeddings, max-pooled (Ma & Hovy 2016).
    Cnn,
    /// A bidirectional LSTM over the characters, both final states (Lample et al. 2016).
    Lstm,
}

/// How the embedding tables (words, characters, casing, columns) start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddingInit {
    /// PyTorch's `nn.Embedding`: every value drawn from N(0, 1).
    #[default]
    Normal,
    /// Uniform in ±√(3 / dim), so each value has variance 1 / dim (Ma &
    /// Hovy 2016, Lample et al. 2016). Adam moves a value by about the
    /// learning rate per update, so a rare word's row learns within a few
    /// updates instead of staying near its N(0, 1) draw.
    Scaled,
}

impl EmbeddingInit {
    /// The bound of the uniform draw for a table of `dim` columns, or
    /// `None` for the standard normal.
    pub fn uniform_bound(self, dim: i64) -> Option<f64> {
        match self {
            EmbeddingInit::Normal => None,
            EmbeddingInit::Scaled => Some((3.0 / dim.max(1) as f64).sqrt()),
        }
    }
}

/// How an embedding model reads pre-trained vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WordVectors {
    /// A training word's row starts from its vector and trains; any other
    /// word reads its vector in place of a row (the extended vocabulary).
    #[default]
    Start,
    /// Every word reads its vector (frozen; zeros for a word without one)
    /// beside its own row of `embedding_dim` (training words; any other
    /// word `<UNK>`'s), which starts at random. The input is the same for
    /// a word seen in training and for one seen only in the vectors, and
    /// word dropout keeps the vector.
    Beside,
}

impl WordVectors {
    fn is_start(&self) -> bool {
        *self == WordVectors::Start
    }
}

/// The output layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputLayer {
    /// A linear layer and cross-entropy per token; prediction by argmax.
    #[default]
    Softmax,
    /// A linear-chain CRF: sentence log-likelihood; prediction by Viterbi.
    Crf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub cell: Cell,
    pub bidirectional: bool,
    pub layers: i64,
    pub hidden: i64,
    pub input: WordInput,
    /// Only for `input = "embedding"`.
    #[serde(default)]
    pub embedding_dim: i64,
    /// Dropout on the word features, between recurrent layers and before
    /// the output layer.
    #[serde(default)]
    pub dropout: f64,
    /// Draw one dropout mask per sentence and layer, shared by all its
    /// positions (variational dropout: Gal & Ghahramani 2016; Reimers &
    /// Gurevych 2017), instead of one per position.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub variational_dropout: bool,
    /// Character features: `none`, `cnn` or `lstm`.
    #[serde(default)]
    pub chars: CharEncoder,
    /// Character embedding size.
    #[serde(default = "char_dim")]
    pub char_dim: i64,
    /// CNN filters, or LSTM units per direction.
    #[serde(default = "char_hidden")]
    pub char_hidden: i64,
    /// CNN window (odd).
    #[serde(default = "char_kernel")]
    pub char_kernel: i64,
    /// Size of the casing-class embedding (0: no casing feature).
    #[serde(default)]
    pub casing_dim: i64,
    /// How the embedding tables start: `normal` (default) or `scaled`.
    #[serde(default, skip_serializing_if = "is_normal_init")]
    pub embedding_init: EmbeddingInit,
    /// With pre-trained vectors whose rows give the words the training
    /// split lacks their ids: train those rows too (default: frozen at the
    /// vectors). The training words' rows always train.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tune_vectors: bool,
    /// With pre-trained vectors: how a word reads them (`start`, the
    /// default, or `beside`).
    #[serde(default, skip_serializing_if = "WordVectors::is_start")]
    pub word_vectors: WordVectors,
    /// Source columns of the sentences (`pos`, `chunk`, …) embedded beside
    /// the words, each with its vocabulary (`ner-vocab --columns`) and ids
    /// (`ner-encode --columns`); prediction needs them in its input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The size of each column's embedding.
    #[serde(default = "column_dim", skip_serializing_if = "is_column_dim")]
    pub column_dim: i64,
    /// `softmax` or `crf`.
    #[serde(default)]
    pub output: OutputLayer,
    /// The tag scheme the tagger learns and decodes in (`iob2`, `bioes`);
    /// absent: the data's. Inputs and outputs stay in the data's scheme
    /// (`crate::tagset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_scheme: Option<String>,
}

impl ModelConfig {
    /// [`ModelConfig::tag_scheme`], parsed (`check` has refused bad names).
    pub fn tag_scheme(&self) -> Result<Option<ner_core::scheme::TagScheme>, ConfigError> {
        self.tag_scheme
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| ConfigError(format!("model.tag_scheme: {e}")))
    }
}

fn is_normal_init(init: &EmbeddingInit) -> bool {
    *init == EmbeddingInit::Normal
}

fn column_dim() -> i64 {
    20
}

fn is_column_dim(dim: &i64) -> bool {
    *dim == column_dim()
}

fn char_dim() -> i64 {
    30
}

fn char_hidden() -> i64 {
    50
}

fn char_kernel() -> i64 {
    3
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    #[default]
    Adam,
    /// SGD with momentum (`momentum`).
    Sgd,
}

/// How the learning rate changes between epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    Constant,
    /// `lr / (1 + lr_decay * (epoch - 1))` (Ma & Hovy).
    Decay,
    /// Multiply by `plateau_factor` after `plateau_patience` epochs without a
    /// better validation score.
    Plateau,
    /// Down in a straight line over the run: `lr * (epochs - epoch + 1) /
    /// epochs`, so epoch 1 trains at `lr` and the last at `lr / epochs`
    /// (budgeted training: a short run that ends at a small rate).
    Linear,
}

/// Which validation score picks `best.safetensors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectBy {
    EntityF1,
    MacroF1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Sentences per batch; must match the encoded training file.
    pub batch_size: usize,
    /// Seed of initialisation, dropout and the per-epoch batch order.
    #[serde(default)]
    pub seed: u64,
    /// Reshuffle the order of the encoded batches every epoch.
    #[serde(default = "yes")]
    pub shuffle: bool,
    #[serde(default = "entity_f1")]
    pub select_by: SelectBy,
    /// `adam` (default) or `sgd`.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// SGD's momentum.
    #[serde(default = "momentum")]
    pub momentum: f64,
    /// Clip the gradients' global L2 norm to this (0: no clipping).
    #[serde(default)]
    pub clip: f64,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default)]
    pub lr_decay: f64,
    #[serde(default = "half")]
    pub plateau_factor: f64,
    #[serde(default = "one")]
    pub plateau_patience: usize,
    /// Start no epoch after this many minutes of training (0: no limit).
    #[serde(default)]
    pub max_minutes: f64,
    /// Stop after this many epochs without a better validation score (0: never).
    #[serde(default)]
    pub patience: usize,
    /// Probability of replacing a training word seen once with `<UNK>`, so
    /// the model learns what to do with unknown words.
    #[serde(default)]
    pub unk_replace: f64,
    /// The order the training batches must be encoded in (`bucket`,
    /// `shuffle` or `sequential`); `make` encodes them so. Unset: any.
    #[serde(default)]
    pub batch_order: Option<String>,
    /// Validate, checkpoint and predict with an exponential moving average
    /// of the weights, updated after every step with this decay (Polyak
    /// averaging; 0: off). Early steps use `min(average, (1 + t) / (10 + t))`.
    #[serde(default)]
    pub average: f64,
}

impl TrainConfig {
    /// The learning rate epoch `epoch` (from 1) starts at, for the schedules
    /// that set it from the epoch; `None` for those that keep the current
    /// one (`constant`, and `plateau`, which lowers it after validation).
    pub fn epoch_lr(&self, epoch: usize) -> Option<f64> {
        match self.schedule {
            Schedule::Decay => Some(self.lr / (1.0 + self.lr_decay * (epoch - 1) as f64)),
            Schedule::Linear => {
                let epochs = self.epochs.max(epoch);
                Some(self.lr * (epochs + 1 - epoch) as f64 / epochs as f64)
            }
            Schedule::Constant | Schedule::Plateau => None,
        }
    }
}

fn momentum() -> f64 {
    0.9
}

fn half() -> f64 {
    0.5
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

fn entity_f1() -> SelectBy {
    SelectBy::EntityF1
}

impl Pipeline {
    /// Reads and checks a pipeline file.
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ner_core::Error::io(path, e))?;
        let pipeline: Pipeline = toml::from_str(&text).map_err(|e| ModelError::Pipeline {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        pipeline.check().map_err(|e| ModelError::Pipeline {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(pipeline)
    }

    /// Checks values serde cannot.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.problem()
            .map_or(Ok(()), |message| Err(ConfigError(message)))
    }

    /// The first value out of its range, described.
    fn problem(&self) -> Option<String> {
        let m = &self.model;
        if m.layers < 1 || m.hidden < 1 {
            return Some("model.layers and model.hidden must be at least 1".into());
        }
        if m.input == WordInput::Embedding && m.embedding_dim < 1 {
            return Some("model.input = \"embedding\" needs model.embedding_dim >= 1".into());
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return Some(format!(
                "model.dropout must be in [0, 1), found {}",
                m.dropout
            ));
        }
        if m.chars != CharEncoder::None
            && (m.char_dim < 1 || m.char_hidden < 1 || m.char_kernel < 1)
        {
            return Some(
                "model.char_dim, model.char_hidden and model.char_kernel must be at least 1".into(),
            );
        }
        if m.casing_dim < 0 {
            return Some("model.casing_dim must not be negative".into());
        }
        if (m.chars != CharEncoder::None || m.casing_dim > 0 || !m.columns.is_empty())
            && m.input == WordInput::Onehot
        {
            return Some(
                "character, casing and column features need model.input = \"embedding\"".into(),
            );
        }
        if !m.columns.is_empty() && m.column_dim < 1 {
            return Some("model.column_dim must be at least 1".into());
        }
        if let Some(name) = m
            .columns
            .iter()
            .find(|c| c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Some(format!(
                "model.columns: '{name}' is not a column name (letters, digits, _)"
            ));
        }
        if let Err(e) = m.tag_scheme() {
            return Some(e.0);
        }
        let t = &self.train;
        if !(0.0..1.0).contains(&t.unk_replace) || t.clip < 0.0 || t.lr_decay < 0.0 {
            return Some("train.unk_replace must be in [0, 1); train.clip and train.lr_decay must not be negative".into());
        }
        if !(0.0..1.0).contains(&t.average) {
            return Some(format!(
                "train.average must be in [0, 1), found {}",
                t.average
            ));
        }
        if let Some(order) = &t.batch_order {
            if !["bucket", "shuffle", "sequential"].contains(&order.as_str()) {
                return Some(format!(
                    "train.batch_order must be bucket, shuffle or sequential, found '{order}'"
                ));
            }
        }
        if self.train.epochs < 1 || self.train.batch_size < 1 || self.train.lr <= 0.0 {
            return Some("train.epochs, train.batch_size and train.lr must be positive".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read at run time: a test binary from another checkout may be reused.
    fn pipelines_dir() -> std::path::PathBuf {
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
        manifest.join("../../pipelines")
    }

    #[test]
    fn shipped_pipelines_parse() {
        let dir = pipelines_dir();
        for (name, cell) in [
            ("bigru-no-reset", Cell::GruNoReset),
            ("bigru-no-update", Cell::GruNoUpdate),
        ] {
            let p = Pipeline::read(&dir.join(format!("{name}.toml"))).expect(name);
            assert_eq!(p.model.cell, cell, "{name}");
        }
        for name in ["bilstm-crf", "char-bilstm-crf", "char-lstm-bilstm-crf"] {
            let p = Pipeline::read(&dir.join(format!("{name}.toml"))).expect(name);
            assert_eq!(p.model.output, OutputLayer::Crf, "{name}");
        }
        for name in ["rnn", "birnn", "bigru", "bilstm", "bilstm3"] {
            let p = Pipeline::read(&dir.join(format!("{name}.toml"))).expect(name);
            assert_eq!(p.model.hidden, 128, "{name}");
            assert_eq!(p.model.input, WordInput::Onehot, "{name}");
            assert_eq!(p.train.lr, 0.001, "{name}");
            assert_eq!(p.train.batch_size, 32, "{name}");
            assert_eq!(
                p.train.epochs,
                if name == "bilstm3" { 10 } else { 5 },
                "{name}"
            );
        }
    }

    #[test]
    fn schedules_set_the_rate_of_each_epoch() {
        let mut train = Pipeline::read(&pipelines_dir().join("rnn.toml"))
            .expect("rnn")
            .train;
        assert_eq!(train.epoch_lr(3), None, "constant");
        train.schedule = Schedule::Linear;
        train.epochs = 4;
        train.lr = 0.002;
        let close = |train: &TrainConfig, epoch: usize, want: f64| {
            let got = train.epoch_lr(epoch).expect("the schedule sets it");
            assert!((got - want).abs() < 1e-15, "epoch {epoch}: {got} != {want}");
        };
        close(&train, 1, 0.002);
        close(&train, 2, 0.0015);
        close(&train, 3, 0.001);
        close(&train, 4, 0.0005);
        // An epoch past the planned ones (a run resumed with more) trains
        // at lr / epoch.
        close(&train, 6, 0.002 / 6.0);
        train.schedule = Schedule::Decay;
        train.lr_decay = 0.05;
        close(&train, 1, 0.002);
        close(&train, 3, 0.002 / 1.1);
    }

    #[test]
    fn embedding_init_is_normal_unless_asked_and_scaled_by_width() {
        let dir = pipelines_dir();
        let shipped = Pipeline::read(&dir.join("char-bilstm-crf.toml")).expect("shipped");
        assert_eq!(shipped.model.embedding_init, EmbeddingInit::Normal);
        // A default stays out of config.json, so older model folders and
        // newer ones with the default read alike.
        let json = serde_json::to_string(&shipped.model).expect("json");
        assert!(!json.contains("embedding_init"), "{json}");
        let text = std::fs::read_to_string(dir.join("char-bilstm-crf.toml")).expect("read");
        let scaled = text.replace("[model]\n", "[model]\nembedding_init = \"scaled\"\n");
        let model: Pipeline = toml::from_str(&scaled).expect("scaled");
        assert_eq!(model.model.embedding_init, EmbeddingInit::Scaled);
        let bound = EmbeddingInit::Scaled.uniform_bound(300).expect("a bound");
        assert!((bound - 0.1).abs() < 1e-12, "{bound}");
        assert_eq!(EmbeddingInit::Normal.uniform_bound(300), None);
        let bad = text.replace("[model]\n", "[model]\nembedding_init = \"xavier\"\n");
        let err = toml::from_str::<Pipeline>(&bad)
            .expect_err("xavier")
            .to_string();
        assert!(err.contains("unknown variant `xavier`"), "{err}");
    }

    #[test]
    fn bad_pipelines_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "[model]\ncell = \"transformer\"\n").expect("write");
        let err = Pipeline::read(&path).expect_err("bad cell").to_string();
        assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
        assert!(err.contains("unknown variant `transformer`"), "{err}");
    }
}
