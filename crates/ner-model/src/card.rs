//! The model folder: its file names, `config.json` ([`ModelCard`]) and the
//! vocabularies a model was built on ([`Vocabularies`]).

use std::path::Path;

use ner_core::artifact::sha256_file;
use ner_core::schema::{keys, ArtifactKind};
use ner_core::scheme::TagScheme;
use ner_core::tables::Vocab;
use serde::{Deserialize, Serialize};

use crate::chars::CharClasses;
use crate::config::{ModelConfig, Pipeline};
use crate::tagset::TagSet;
use crate::ModelError;

/// File names inside a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const BEST_FILE: &str = "best.safetensors";
pub const CONFIG_FILE: &str = "config.json";

/// `config.json`: everything needed to rebuild the model and check its inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub format_version: u32,
    pub created_by: String,
    pub name: String,
    pub pipeline: Pipeline,
    pub n_words: i64,
    /// The tagger's outputs: `tags`, or the tags of `model.tag_scheme`.
    pub n_tags: i64,
    /// The data's tag names by id.
    pub tags: Vec<String>,
    /// The scheme of `tags`.
    pub scheme: String,
    /// Whether words were lower-cased before lookup (`"true"`/`"false"`).
    pub lowercase: String,
    pub words_file: String,
    pub words_sha256: String,
    pub tags_file: String,
    pub tags_sha256: String,
    #[serde(default)]
    pub chars_file: String,
    #[serde(default)]
    pub chars_sha256: String,
    /// Characters kept per word when the training batches were encoded.
    #[serde(default)]
    pub max_word_chars: Option<usize>,
    pub train_file: String,
    pub valid_file: String,
    pub n_parameters: i64,
    pub epochs_done: usize,
    pub best_epoch: usize,
}

impl ModelCard {
    /// Reads `DIR/config.json`, refusing other format versions.
    pub fn read(dir: &Path) -> Result<Self, ModelError> {
        let path = dir.join(CONFIG_FILE);
        let bytes = std::fs::read(&path).map_err(|e| ner_core::Error::io(&path, e))?;
        let card: ModelCard = serde_json::from_slice(&bytes).map_err(|e| ModelError::Pipeline {
            path: path.clone(),
            message: format!("not a model config written by ner-train: {e}"),
        })?;
        if card.format_version != ner_core::schema::FORMAT_VERSION {
            return Err(ModelError::Pipeline {
                path,
                message: format!(
                    "format version {}, this build reads version {}; retrain the model",
                    card.format_version,
                    ner_core::schema::FORMAT_VERSION
                ),
            });
        }
        Ok(card)
    }
}

/// The vocabularies a model is built on, with their fingerprints.
#[derive(Debug)]
pub struct Vocabularies {
    pub words: Vocab,
    pub chars: Vocab,
    pub tags: Vocab,
    pub words_sha: String,
    pub chars_sha: String,
    pub tags_sha: String,
}

impl Vocabularies {
    pub fn read(words: &Path, chars: &Path, tags: &Path) -> Result<Self, ModelError> {
        Ok(Vocabularies {
            words: Vocab::read(words, ArtifactKind::WordVocab)?,
            chars: Vocab::read(chars, ArtifactKind::CharVocab)?,
            tags: Vocab::read(tags, ArtifactKind::TagVocab)?,
            words_sha: sha256_file(words)?,
            chars_sha: sha256_file(chars)?,
            tags_sha: sha256_file(tags)?,
        })
    }

    /// The case of each character id (for the casing feature).
    pub fn char_classes(&self) -> CharClasses {
        CharClasses::from_chars(self.chars.entries.iter().map(|(c, _)| c.as_str()))
    }

    pub fn tag_names(&self) -> Vec<String> {
        self.tags.entries.iter().map(|(t, _)| t.clone()).collect()
    }

    /// The tags a tagger built as `model` says predicts, and their way to
    /// and from these tags.
    pub fn tag_set(&self, model: &ModelConfig) -> Result<TagSet, ModelError> {
        let scheme = self
            .tags
            .metadata
            .get(keys::SCHEME)
            .unwrap_or("iob2")
            .parse()
            .map_err(ModelError::Mismatch)?;
        let wanted = model.tag_scheme().map_err(ModelError::Mismatch)?;
        TagSet::new(&self.tag_names(), scheme, wanted).map_err(ModelError::Mismatch)
    }
}

/// What a tagger needs to know about its vocabularies.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggerSpec {
    pub n_words: i64,
    pub n_chars: i64,
    /// Tag names by id.
    pub tags: Vec<String>,
    /// The tags' scheme (the CRF's constraints follow it).
    pub scheme: TagScheme,
    /// Case of each character id (for the casing feature).
    pub char_classes: CharClasses,
}

impl TaggerSpec {
    /// What a tagger built on `vocabs` needs, predicting `tags`.
    pub fn new(vocabs: &Vocabularies, tags: &TagSet) -> Self {
        TaggerSpec {
            n_words: vocabs.words.len() as i64,
            n_chars: vocabs.chars.len() as i64,
            tags: tags.model_tags().to_vec(),
            scheme: tags.model_scheme(),
            char_classes: vocabs.char_classes(),
        }
    }

    /// Words and tags only (tags named `T0`, `T1`, …; no constraints).
    pub fn plain(n_words: i64, n_tags: i64) -> Self {
        TaggerSpec {
            n_words,
            n_chars: 2,
            tags: (0..n_tags).map(|i| format!("T{i}")).collect(),
            scheme: TagScheme::Iob1,
            char_classes: CharClasses::default(),
        }
    }
}
