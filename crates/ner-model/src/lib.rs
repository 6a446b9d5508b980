//! What a trained tagger is, without libtorch.
//!
//! Both sides of a model folder read these definitions: `ner-train`, which
//! writes it, and prediction (`ner-infer`, `ner-predict`), which must not
//! load libtorch.
//!
//! - [`config`]: pipeline files (`pipelines/<MODEL>.toml`): the architecture
//!   and the training hyper-parameters.
//! - [`card`]: the model folder's file names, its `config.json`
//!   ([`card::ModelCard`]) and the vocabularies a model was built on.
//! - [`tagset`]: the tags a model predicts when it decodes in another scheme
//!   than the data's, and the way back.
//! - [`crf`]: the CRF's transition constraints and Viterbi.
//! - [`chars`]: character case flags and the casing classes of a word.

pub mod card;
pub mod chars;
pub mod config;
pub mod crf;
pub mod tagset;

use std::path::PathBuf;

/// Errors reading a pipeline, a model folder or its vocabularies.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error("{path}: {message}", path = .path.display())]
    Pipeline { path: PathBuf, message: String },
    #[error("{0}")]
    Mismatch(String),
}
