//! Prediction without libtorch.
//!
//! `ner-train` trains with libtorch; loading libtorch alone takes about a
//! third of a second (`libtorch_cpu` is 438 MB), longer than tagging the
//! whole CoNLL-2003 test split should take. This crate runs a trained model
//! folder on the CPU with plain Rust: [`Weights`] maps the safetensors file,
//! [`Model`] computes the same tag scores as `ner_train::model::Tagger`
//! (checked against it for every architecture in `tests/`) and decodes them
//! the same way.
//!
//! ```no_run
//! use ner_infer::{Model, Sentence, Weights};
//! use ner_model::card::{ModelCard, TaggerSpec, Vocabularies};
//!
//! let dir = std::path::Path::new("models/bilstm");
//! let card = ModelCard::read(dir)?;
//! let vocabs = Vocabularies::read(
//!     "data/vocab/words.parquet".as_ref(),
//!     "data/vocab/chars.parquet".as_ref(),
//!     "data/vocab/tags.parquet".as_ref(),
//! )?;
//! let tags = vocabs.tag_set(&card.pipeline.model)?;
//! let weights = Weights::open(&dir.join("best.safetensors"))?;
//! let model = Model::load(&card.pipeline.model, &TaggerSpec::new(&vocabs, &tags), &weights, 64)?;
//! let paths = model.tag(&[Sentence { words: vec![5, 9, 2], chars: Vec::new() }], 512, 2)?;
//! println!("{:?}", tags.to_data(&paths[0]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use ner_kernels::math;
pub mod model;
pub mod weights;

use std::path::PathBuf;

pub use model::{Model, Sentence};
pub use weights::{Table, Weights};

/// Errors of libtorch-free inference.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error(transparent)]
    Model(#[from] ner_model::ModelError),
    #[error("{path}: {message}", path = .path.display())]
    Weights { path: PathBuf, message: String },
    #[error("{0}")]
    Input(String),
}
