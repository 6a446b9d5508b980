//! Prediction without libtorch.
//!
//! `ner-train` trains with libtorch; loading libtorch alone takes about a
//! third of a second (`libtorch_cpu` is 438 MB), longer than tagging the
//! whole CoNLL-2003 test split should take. This crate runs a trained model
//! folder on the CPU with plain Rust: [`Weights`] maps the safetensors file
//! (the `safetensors` crate reads its header), [`Model`] builds the forward
//! pass from `ner-kernels`' layers — the same arithmetic training runs on the
//! CPU — and decodes it, and [`Tagger`] puts a model folder behind token
//! strings (what `ner-predict`, the Python package and the server use).
//! `ner-parity`'s tests check it against `ner-train`'s libtorch tagger for
//! every architecture.
//!
//! ```no_run
//! use ner_infer::Tagger;
//! use ner_model::folder::{ModelDir, Weights};
//!
//! let tagger = Tagger::load(&ModelDir::new("models/bilstm"), Weights::Best, None)?;
//! let tags = tagger.tag(&[vec!["EU", "rejects", "German", "call"]], 512, 2)?;
//! println!("{:?}", tags[0]);
//! # Ok::<(), ner_infer::InferError>(())
//! ```

pub mod confidence;
pub mod document;
pub mod ensemble;
pub mod model;
pub mod tagger;
pub mod weights;

use std::path::PathBuf;

pub use confidence::{Combine, ScoredSpan};
pub use ensemble::Ensemble;
pub use model::{Model, Sentence};
pub use tagger::{Analysis, Options, Tagger};
pub use weights::{Table, Weights};

/// Errors of libtorch-free inference.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error(transparent)]
    Model(#[from] ner_model::ModelError),
    /// A weights file that is not the model's.
    #[error("{path}: {message}", path = .path.display())]
    Weights { path: PathBuf, message: String },
    /// Ids outside the model's vocabularies.
    #[error("{0}")]
    Input(String),
}
