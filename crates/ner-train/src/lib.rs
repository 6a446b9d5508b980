//! Stage 4: train libtorch recurrent taggers on encoded batches.
//!
//! In: a pipeline file ([`config::Pipeline`], `pipelines/<MODEL>.toml`), the
//! training and validation batches from `ner-encode` (memory-mapped,
//! [`data::EncodedSplit`]) and the vocabularies they were encoded with
//! (checked by SHA-256). Out: a model folder
//! ([`ner_model::folder::ModelDir`]): the weights after every epoch and of
//! the best validation epoch, `config.json` (everything needed to rebuild
//! the model), the vocabularies copied in, `metrics.jsonl` and the curves,
//! each written atomically, and a resumable checkpoint while a run is
//! unfinished.
//!
//! The taggers ([`tagger::Tagger`]): RNN (tanh), GRU (and two gate-fixed
//! variants) or LSTM cells, one or two directions, any number of layers,
//! words as the course's one-hot vectors (computed as a lookup) or as
//! embeddings with character features and casing, a softmax or a CRF. On
//! the CPU the recurrent layers, the character CNN and the CRF's
//! log-partition run on `ner-kernels` (hand-written forward and backward
//! passes handed back to libtorch's graph); elsewhere libtorch's ops run
//! them. This crate and `ner-gates` are the only ones that link libtorch:
//! prediction runs the trained models without it (`ner-infer`).
//!
//! Modules, leaves first: [`host`](crate) copies and threads, [`dropout`],
//! [`data`], [`tagset`]; [`layers`] on them; [`tagger`] on the layers;
//! [`optim`], [`average`], [`vectors`], [`checkpoint`], [`rng_state`];
//! [`trainer`] on top.
//!
//! ```no_run
//! use ner_core::schema::vocab::VocabDir;
//! use ner_train::config::Pipeline;
//! use ner_train::trainer::{train, Config};
//!
//! let config = Config {
//!     name: "rnn".into(),
//!     pipeline: Pipeline::read("pipelines/rnn.toml".as_ref())?,
//!     train: "data/processed/train.arrow".into(),
//!     valid: "data/processed/valid.arrow".into(),
//!     vocab: VocabDir::new("data/vocab"),
//!     vectors: None,
//!     output_dir: "models/rnn".into(),
//!     device: tch::Device::Cpu,
//!     threads: None,
//!     progress: true,
//!     resume: false,
//!     stop: None,
//! };
//! let summary = train(&config)?;
//! println!("best epoch {}", summary.best_epoch);
//! # Ok::<(), ner_train::TrainError>(())
//! ```

pub mod average;
pub mod checkpoint;
pub mod data;
pub mod dropout;
mod error;
mod host;
pub mod layers;
pub mod optim;
pub mod rng_state;
mod sequence;
pub mod tagger;
pub mod tagset;
pub mod trainer;
pub mod vectors;

/// Pipeline files, defined without libtorch in `ner-model`.
pub use ner_model::config;

pub use error::{InputError, TrainError};
