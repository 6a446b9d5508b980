//! A model folder's layout: the one place its file names are written.
//!
//! ```text
//! models/<MODEL>/
//!   config.json          the model card (crate::card::ModelCard)
//!   model.safetensors    weights after the last epoch
//!   best.safetensors     weights of the best validation epoch
//!   vocab/               copies of the vocabularies it was trained on
//!     words.parquet chars.parquet tags.parquet
//!     keys.parquet vectors.safetensors   (a model that reads pre-trained vectors)
//!   metrics.jsonl        one line per epoch (ner_core::runs)
//!   curves.png           the training curves
//!   resume.safetensors   while a run is unfinished: everything to continue it
//!   train.lock           held while a run trains into the folder
//! ```
//!
//! The folder is self-contained: prediction needs nothing outside it, so it
//! works from any directory and after `cp -r` to another machine.

use std::path::{Path, PathBuf};

use ner_core::schema::vectors::VectorsDir;
use ner_core::schema::vocab::VocabDir;

/// Which weights of a model folder to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weights {
    /// `best.safetensors`: the epoch selected on validation.
    #[default]
    Best,
    /// `model.safetensors`: the last epoch.
    Last,
}

/// A model folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDir {
    root: PathBuf,
}

impl ModelDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ModelDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// `best.safetensors` or `model.safetensors`.
    pub fn weights(&self, which: Weights) -> PathBuf {
        self.root.join(match which {
            Weights::Best => "best.safetensors",
            Weights::Last => "model.safetensors",
        })
    }

    /// `metrics.jsonl`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// `curves.png`.
    pub fn curves(&self) -> PathBuf {
        self.root.join("curves.png")
    }

    /// `resume.safetensors`: an unfinished run's checkpoint.
    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("resume.safetensors")
    }

    /// `train.lock`.
    pub fn lock(&self) -> PathBuf {
        self.root.join("train.lock")
    }

    /// `vocab/`: the vocabularies the model was trained on.
    pub fn vocab(&self) -> VocabDir {
        VocabDir::new(self.root.join("vocab"))
    }

    /// The pre-trained vectors' copies, beside the vocabularies in `vocab/`
    /// (`keys.parquet`, `vectors.safetensors`).
    pub fn vectors(&self) -> VectorsDir {
        VectorsDir::new(self.root.join("vocab"))
    }
}
