//! What a trained tagger is, without libtorch: the contract between the side
//! that writes a model folder (`ner-train`) and the sides that read it
//! (`ner-infer`, `ner-predict`, `ner-report`).
//!
//! - [`config`]: pipeline files (`pipelines/<MODEL>.toml`): the architecture
//!   and the training hyper-parameters.
//! - [`folder`]: [`folder::ModelDir`], the one type naming every file of a
//!   model folder (its vocabularies are a [`ner_core::schema::vocab::VocabDir`]
//!   inside it).
//! - [`card`]: `config.json` ([`card::ModelCard`]), the vocabularies a model
//!   was built on and their checks, and what a tagger needs of them
//!   ([`card::TaggerSpec`]).
//! - [`tagset`]: the tags a model predicts when it decodes in another scheme
//!   than the data's, and the way back.
//! - [`crf`]: the CRF's transition constraints.
//!
//! It computes nothing: the arithmetic is `ner-kernels`'.
//!
//! ```no_run
//! use ner_model::card::ModelCard;
//! use ner_model::folder::ModelDir;
//!
//! let dir = ModelDir::new("models/bilstm");
//! let card = ModelCard::read(&dir)?;
//! println!("{} trained {} epochs, best {}", card.name, card.epochs_done, card.best_epoch);
//! # Ok::<(), ner_model::ModelError>(())
//! ```

pub mod card;
pub mod config;
pub mod crf;
pub mod folder;
pub mod tagset;

use std::path::PathBuf;

/// A pipeline value outside what it allows, named by its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Tags that cannot serve a model: an id outside the tag set, a tag without
/// a counterpart in the other scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TagError(pub String);

/// A vocabulary file whose SHA-256 is not the one its model was trained with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path} differs from the vocabulary {model} was trained with (SHA-256 {on_disk} on \
     disk, {recorded} in {card}); the words would get other ids. Use the vocabulary of \
     the training run (--vocab-dir) or retrain",
    path = .path.display(),
    model = .model.display(),
    card = .card.display()
)]
pub struct FingerprintError {
    pub path: PathBuf,
    pub model: PathBuf,
    pub on_disk: String,
    pub recorded: String,
    pub card: PathBuf,
}

/// Errors reading a pipeline, a model folder or its vocabularies.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read, or is not the artifact expected.
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    /// A pipeline file that does not parse, or names values it may not.
    #[error("{path}: {message}", path = .path.display())]
    Pipeline { path: PathBuf, message: String },
    /// A pipeline's values, wherever they came from.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A model folder that is not one this build reads.
    #[error("{path}: {message}", path = .path.display())]
    Folder { path: PathBuf, message: String },
    /// A vocabulary other than the one the model was trained with.
    #[error(transparent)]
    Fingerprint(Box<FingerprintError>),
    /// A file a model needs that is not there.
    #[error("{path}: {message}", path = .path.display())]
    Missing { path: PathBuf, message: String },
    #[error(transparent)]
    Tags(#[from] TagError),
}
