//! `config.json` ([`ModelCard`]), the vocabularies a model was built on
//! ([`Vocabularies`]) and what a tagger needs of them ([`TaggerSpec`]).

use std::path::{Path, PathBuf};

use ner_core::artifact::{sha256_file, write_atomic};
use ner_core::schema::vectors::VectorsDir;
use ner_core::schema::vocab::VocabDir;
use ner_core::schema::{keys, ArtifactKind};
use ner_core::scheme::TagScheme;
use ner_core::tables::{TokenIds, VectorKeys, Vocab};
use ner_kernels::CharClasses;
use serde::{Deserialize, Serialize};

use crate::config::{ModelConfig, Pipeline};
use crate::folder::ModelDir;
use crate::tagset::TagSet;
use crate::{FingerprintError, ModelError, TagError};

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
    /// Where training read the word vocabulary (the model reads its own
    /// copy, `vocab/words.parquet`, where the folder has one).
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
    /// Pre-trained vectors whose rows the word ids past `n_words` index
    /// (`ner-vectors`; the folder keeps copies in `vocab/`): where training
    /// read their keys, the keys' and the matrix's SHA-256, and the rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors: Option<VectorsCard>,
    /// The source columns embedded beside the words (`model.columns`):
    /// where training read each one's vocabulary and its SHA-256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnCard>,
    pub train_file: String,
    pub valid_file: String,
    pub n_parameters: i64,
    pub epochs_done: usize,
    pub best_epoch: usize,
}

/// The pre-trained vectors a model reads, in its card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorsCard {
    pub keys_file: String,
    pub keys_sha256: String,
    pub matrix_sha256: String,
    pub rows: i64,
    pub dim: i64,
    /// Words with a vector read it before the vocabulary (static vectors).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub static_vectors: bool,
}

/// A source column a model reads, in its card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnCard {
    pub name: String,
    pub file: String,
    pub sha256: String,
}

/// A model's vectors: the keys (for the look-up) and the matrix file.
#[derive(Debug)]
pub struct ModelVectors {
    pub keys: VectorKeys,
    pub matrix: PathBuf,
}

impl ModelCard {
    /// Reads `config.json`, refusing other format versions.
    pub fn read(dir: &ModelDir) -> Result<Self, ModelError> {
        let path = dir.config();
        let bytes = std::fs::read(&path).map_err(|e| ner_core::Error::io(&path, e))?;
        let card: ModelCard = serde_json::from_slice(&bytes).map_err(|e| ModelError::Folder {
            path: path.clone(),
            message: format!("not a model config written by ner-train: {e}"),
        })?;
        if card.format_version != ner_core::schema::FORMAT_VERSION {
            return Err(ModelError::Folder {
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

    /// Writes `config.json` atomically.
    pub fn write(&self, dir: &ModelDir) -> Result<(), ModelError> {
        let path = dir.config();
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| ner_core::Error::invalid(&path, e.to_string()))?;
        write_atomic(&path, &json)?;
        Ok(())
    }

    /// Whether words were lower-cased before lookup.
    pub fn lowercases(&self) -> bool {
        self.lowercase == "true"
    }

    /// The vectors of the model in `dir` (`None` for a model without),
    /// checked against this card: from `vectors_dir` when given, else the
    /// folder's own copies (`vocab/`).
    pub fn vectors(
        &self,
        dir: &ModelDir,
        vectors_dir: Option<&VectorsDir>,
    ) -> Result<Option<ModelVectors>, ModelError> {
        let Some(card) = &self.vectors else {
            return Ok(None);
        };
        let own = dir.vectors();
        let folder = vectors_dir.unwrap_or(&own);
        let (keys_path, matrix) = (folder.keys(), folder.matrix());
        check_fingerprint(dir, &keys_path, &card.keys_sha256)?;
        check_fingerprint(dir, &matrix, &card.matrix_sha256)?;
        let keys = VectorKeys::read(&keys_path)?;
        Ok(Some(ModelVectors { keys, matrix }))
    }

    /// The vocabularies of the model in `dir`, checked against this card:
    /// from `vocab_dir` when given, else the folder's own copies
    /// (`vocab/`), else (folders written before the copies) the files the
    /// card names. Each file must have the SHA-256 the model was trained
    /// with, so words get the ids they had in training.
    pub fn vocabularies(
        &self,
        dir: &ModelDir,
        vocab_dir: Option<&VocabDir>,
    ) -> Result<Vocabularies, ModelError> {
        let own = dir.vocab();
        let files = match vocab_dir {
            Some(v) => [v.words(), v.chars(), v.tags()],
            None if own.words().exists() => [own.words(), own.chars(), own.tags()],
            None => {
                let words = PathBuf::from(&self.words_file);
                // Cards from before character features did not name the file.
                let chars = if self.chars_file.is_empty() {
                    VocabDir::new(words.parent().unwrap_or(Path::new("."))).chars()
                } else {
                    PathBuf::from(&self.chars_file)
                };
                [words, chars, PathBuf::from(&self.tags_file)]
            }
        };
        for (path, expected) in
            files
                .iter()
                .zip([&self.words_sha256, &self.chars_sha256, &self.tags_sha256])
        {
            // Cards from before character features recorded no char fingerprint.
            if !expected.is_empty() {
                check_fingerprint(dir, path, expected)?;
            }
        }
        let [words, chars, tags] = files;
        let mut vocabs = Vocabularies::read_files(&words, &chars, &tags)?;
        for column in &self.columns {
            let path = match vocab_dir {
                Some(v) => v.column(&column.name),
                None if own.column(&column.name).exists() => own.column(&column.name),
                None => PathBuf::from(&column.file),
            };
            check_fingerprint(dir, &path, &column.sha256)?;
            vocabs.columns.push((
                column.name.clone(),
                Vocab::read(&path, ArtifactKind::ColumnVocab)?,
            ));
        }
        if vocabs.tag_names() != self.tags || vocabs.words.len() as i64 != self.n_words {
            return Err(ModelError::Folder {
                path: dir.config(),
                message: format!(
                    "the vocabularies {} and {} do not match the model's tags and word count",
                    words.display(),
                    tags.display()
                ),
            });
        }
        Ok(vocabs)
    }
}

fn check_fingerprint(dir: &ModelDir, path: &Path, expected: &str) -> Result<(), ModelError> {
    if !path.exists() {
        return Err(ModelError::Missing {
            path: path.to_path_buf(),
            message: format!(
                "the model {} was trained with this vocabulary, which does not exist here; \
                 pass the folder holding it as the vocabulary folder (--vocab-dir)",
                dir.root().display()
            ),
        });
    }
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(ModelError::Fingerprint(Box::new(FingerprintError {
            path: path.to_path_buf(),
            model: dir.root().to_path_buf(),
            on_disk: actual[..12].to_string(),
            recorded: expected[..expected.len().min(12)].to_string(),
            card: dir.config(),
        })));
    }
    Ok(())
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
    /// The source columns' value vocabularies, in the order asked for.
    pub columns: Vec<(String, Vocab)>,
}

impl Vocabularies {
    /// The three vocabularies of a folder written by `ner-vocab`.
    pub fn read(dir: &VocabDir) -> Result<Self, ModelError> {
        Vocabularies::read_files(&dir.words(), &dir.chars(), &dir.tags())
    }

    /// The three vocabularies and those of the source columns `columns`.
    pub fn read_with_columns(dir: &VocabDir, columns: &[String]) -> Result<Self, ModelError> {
        let mut vocabs = Vocabularies::read(dir)?;
        for name in columns {
            let path = dir.column(name);
            if !path.exists() {
                return Err(ModelError::Missing {
                    path,
                    message: format!(
                        "the pipeline embeds the column '{name}' (model.columns), whose vocabulary \
                         is not here; build it with ner-vocab --columns {name}"
                    ),
                });
            }
            vocabs
                .columns
                .push((name.clone(), Vocab::read(&path, ArtifactKind::ColumnVocab)?));
        }
        Ok(vocabs)
    }

    fn read_files(words: &Path, chars: &Path, tags: &Path) -> Result<Self, ModelError> {
        Ok(Vocabularies {
            words: Vocab::read(words, ArtifactKind::WordVocab)?,
            chars: Vocab::read(chars, ArtifactKind::CharVocab)?,
            tags: Vocab::read(tags, ArtifactKind::TagVocab)?,
            words_sha: sha256_file(words)?,
            chars_sha: sha256_file(chars)?,
            tags_sha: sha256_file(tags)?,
            columns: Vec::new(),
        })
    }

    /// The case of each character id (for the casing feature).
    pub fn char_classes(&self) -> CharClasses {
        CharClasses::from_chars(self.chars.entries.iter().map(|(c, _)| c.as_str()))
    }

    pub fn tag_names(&self) -> Vec<String> {
        self.tags.entries.iter().map(|(t, _)| t.clone()).collect()
    }

    /// Whether the words were lower-cased (`ner-vocab --lowercase`).
    pub fn lowercase(&self) -> bool {
        self.words.metadata.get(keys::LOWERCASE) == Some("true")
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
            .map_err(TagError)?;
        let wanted = model.tag_scheme()?;
        Ok(TagSet::new(&self.tag_names(), scheme, wanted)?)
    }
}

/// What a tagger needs to know about its vocabularies.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggerSpec {
    pub n_words: i64,
    /// Rows of pre-trained vectors past the words (word ids `n_words +
    /// row`); 0 without.
    pub n_vector_rows: i64,
    /// The vectors' width (0 without).
    pub vector_dim: i64,
    /// With `model.word_vectors = "beside"`: each word id's vector row, -1
    /// for a word without one ([`TaggerSpec::word_vector_rows`]); empty
    /// otherwise.
    pub word_vector_rows: Vec<i64>,
    pub n_chars: i64,
    /// Tag names by id.
    pub tags: Vec<String>,
    /// The tags' scheme (the CRF's constraints follow it).
    pub scheme: TagScheme,
    /// Case of each character id (for the casing feature).
    pub char_classes: CharClasses,
    /// Each source column's name and number of values (specials included).
    pub columns: Vec<(String, i64)>,
}

impl TaggerSpec {
    /// What a tagger built on `vocabs` needs, predicting `tags`.
    pub fn new(vocabs: &Vocabularies, tags: &TagSet) -> Self {
        TaggerSpec {
            n_words: vocabs.words.len() as i64,
            n_vector_rows: 0,
            vector_dim: 0,
            word_vector_rows: Vec::new(),
            n_chars: vocabs.chars.len() as i64,
            tags: tags.model_tags().to_vec(),
            scheme: tags.model_scheme(),
            char_classes: vocabs.char_classes(),
            columns: vocabs
                .columns
                .iter()
                .map(|(name, v)| (name.clone(), v.len() as i64))
                .collect(),
        }
    }

    /// Each word of `words`' vector row by the look-up of `ids` (built
    /// [`TokenIds::with_vectors`] at `words.len()`), -1 for a word without
    /// one: what a `word_vectors = "beside"` model reads beside a training
    /// word's own row, the same in training and in prediction.
    pub fn word_vector_rows(words: &Vocab, ids: &TokenIds) -> Vec<i64> {
        let first = words.len() as i64;
        words
            .entries
            .iter()
            .enumerate()
            .map(|(id, (word, _))| match ids.vector_id(word) {
                Some(v) if id >= 2 => v - first,
                _ => -1,
            })
            .collect()
    }

    /// Words and tags only (tags named `T0`, `T1`, …; no constraints).
    pub fn plain(n_words: i64, n_tags: i64) -> Self {
        TaggerSpec {
            n_words,
            n_vector_rows: 0,
            vector_dim: 0,
            word_vector_rows: Vec::new(),
            n_chars: 2,
            tags: (0..n_tags).map(|i| format!("T{i}")).collect(),
            scheme: TagScheme::Iob1,
            char_classes: CharClasses::default(),
            columns: Vec::new(),
        }
    }
}
