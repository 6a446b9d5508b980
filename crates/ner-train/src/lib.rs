//! Stage 4: train libtorch recurrent taggers on encoded batches.
//!
//! In: a pipeline file ([`config::Pipeline`], `pipelines/<MODEL>.toml`), the
//! training and validation batches from `ner-encode` (memory-mapped,
//! [`data::EncodedSplit`]) and the word and tag vocabularies they were encoded
//! with (checked by SHA-256). Out: a model folder with `model.safetensors`
//! (after every epoch), `best.safetensors` (best validation epoch),
//! `config.json` (everything needed to rebuild the model) and
//! `metrics.jsonl` (one line per epoch), all written atomically.
//!
//! The taggers ([`model::Tagger`]): RNN (tanh), GRU or LSTM cells, one or two
//! directions, any number of layers, a linear output layer; words enter as
//! the course's one-hot vectors (computed as a lookup) or as embeddings.
//! This crate and `ner-gates` are the only ones that link libtorch:
//! prediction runs the trained models without it (`ner-infer`).
//!
//! ```no_run
//! use ner_train::config::Pipeline;
//! use ner_train::train::{train, Config};
//!
//! let config = Config {
//!     name: "rnn".into(),
//!     pipeline: Pipeline::read("pipelines/rnn.toml".as_ref())?,
//!     train: "data/processed/train.arrow".into(),
//!     valid: "data/processed/valid.arrow".into(),
//!     words: "data/vocab/words.parquet".into(),
//!     tags: "data/vocab/tags.parquet".into(),
//!     chars: "data/vocab/chars.parquet".into(),
//!     embeddings: None,
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
pub mod chars;
pub mod checkpoint;
pub mod crf;
pub mod data;
pub mod embeddings;
pub mod gru;
pub mod model;
pub mod optim;
pub mod plot;
pub mod rng_state;
pub mod tagset;
pub mod train;

/// Pipeline files, defined without libtorch in `ner-model`.
pub use ner_model::config;

use std::path::PathBuf;

/// Errors of the train stage.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error("{path}: {message}", path = .path.display())]
    Pipeline { path: PathBuf, message: String },
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Model(#[from] ner_model::ModelError),
    #[error("libtorch: {0}")]
    Torch(tch::TchError),
    #[error("{path}: could not draw the curves: {message}", path = .path.display())]
    Plot { path: PathBuf, message: String },
    #[error(
        "the training loss became NaN or infinite at epoch {epoch}, step {step}; \
         the checkpoints of the last complete epoch are kept"
    )]
    Diverged { epoch: usize, step: usize },
    #[error(
        "interrupted at epoch {epoch}, step {step} of {steps}; everything needed to continue \
         is in {checkpoint}: run `make train MODEL=<name> RESUME=1`, or the same ner-train \
         command with --resume",
        checkpoint = .checkpoint.display()
    )]
    Interrupted {
        epoch: usize,
        step: usize,
        steps: usize,
        checkpoint: PathBuf,
    },
    #[error(
        "{dir} is being trained by another process (pid {holder}, holding {dir}/train.lock); \
         two trainings into one model folder would overwrite each other's checkpoints",
        dir = .dir.display()
    )]
    Locked { dir: PathBuf, holder: String },
}
