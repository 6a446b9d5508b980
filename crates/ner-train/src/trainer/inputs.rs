//! A run's inputs, checked before anything is trained: batches encoded
//! with exactly the vocabularies given, in the pipeline's batch size and
//! order, words cased as the pipeline asks.

use std::path::Path;

use ner_core::schema::keys;
use ner_model::card::Vocabularies;
use ner_model::config::Pipeline;

use crate::data::EncodedSplit;
use crate::vectors::Pretrained;
use crate::{InputError, TrainError};

/// What the training batches record about how they were encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encoded {
    /// Characters kept per word (`None`: all).
    pub(crate) max_word_chars: Option<usize>,
    /// Word ids past the vocabulary index the vectors' rows.
    pub(crate) extended: bool,
}

/// Checks the splits against the vocabularies and the pipeline.
pub(crate) fn check(
    pipeline: &Pipeline,
    vocabs: &Vocabularies,
    vocab_files: [&Path; 3],
    vectors: Option<&Pretrained>,
    train: &EncodedSplit,
    valid: &EncodedSplit,
) -> Result<Encoded, TrainError> {
    let [words, chars, tags] = vocab_files;
    for split in [train, valid] {
        encoded_with(split, words, &vocabs.words_sha, keys::WORDS_SHA256)?;
        encoded_with(split, chars, &vocabs.chars_sha, keys::CHARS_SHA256)?;
        encoded_with(split, tags, &vocabs.tags_sha, keys::TAGS_SHA256)?;
    }
    let path = train.file().path();
    let meta = train.file().metadata();
    let encoding = |found: String, wanted: String, fix: String| {
        TrainError::from(InputError::Encoding {
            batches: path.to_path_buf(),
            found,
            wanted,
            fix,
        })
    };
    let batch_size: usize = meta.parse(path, keys::BATCH_SIZE)?;
    let wanted = pipeline.train.batch_size;
    if batch_size != wanted {
        return Err(encoding(
            format!("in batches of {batch_size}"),
            wanted.to_string(),
            format!("re-encode with BATCH_SIZE={wanted}"),
        ));
    }
    if let Some(order) = &pipeline.train.batch_order {
        let encoded = meta.require(path, keys::ORDER)?;
        if encoded != order {
            return Err(encoding(
                format!("in '{encoded}' order"),
                format!("'{order}'"),
                format!("re-encode it with --order {order} (make does this for you)"),
            ));
        }
    }
    if let Some(wanted) = pipeline.data.lowercase {
        if vocabs.lowercase() != wanted {
            return Err(InputError::Casing {
                vocab: words.to_path_buf(),
                wanted,
            }
            .into());
        }
    }
    check_columns(pipeline, vocabs, words, train, valid)?;
    let extended = check_vectors(pipeline, vectors, train, valid)?;
    Ok(Encoded {
        extended,
        max_word_chars: meta
            .get(keys::MAX_WORD_CHARS)
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0),
    })
}

/// The source columns the pipeline embeds, encoded in both splits with the
/// vocabularies given.
fn check_columns(
    pipeline: &Pipeline,
    vocabs: &Vocabularies,
    words: &Path,
    train: &EncodedSplit,
    valid: &EncodedSplit,
) -> Result<(), TrainError> {
    let wanted = &pipeline.model.columns;
    let dir = ner_core::schema::vocab::VocabDir::new(words.parent().unwrap_or(Path::new(".")));
    for split in [train, valid] {
        let meta = split.file().metadata();
        let encoded = ner_core::schema::batches::column_names(meta);
        if &encoded != wanted {
            return Err(TrainError::Config(format!(
                "the pipeline embeds the columns [{}] (model.columns), {} was encoded with [{}]; \
                 encode it with --columns {}",
                wanted.join(", "),
                split.file().path().display(),
                encoded.join(", "),
                wanted.join(",")
            )));
        }
        for (name, _) in &vocabs.columns {
            let path = dir.column(name);
            let sha = ner_core::artifact::sha256_file(&path)?;
            encoded_with(split, &path, &sha, &keys::column_sha256(name))?;
        }
    }
    Ok(())
}

/// Whether the batches' word ids reach into the vectors' rows, checked
/// against the vectors given and the pipeline: both splits encoded with the
/// same vectors, or both without.
fn check_vectors(
    pipeline: &Pipeline,
    vectors: Option<&Pretrained>,
    train: &EncodedSplit,
    valid: &EncodedSplit,
) -> Result<bool, TrainError> {
    let recorded = |split: &EncodedSplit| {
        split
            .file()
            .metadata()
            .get(keys::VECTORS_SHA256)
            .map(str::to_string)
    };
    let (in_train, in_valid) = (recorded(train), recorded(valid));
    if in_train != in_valid {
        return Err(TrainError::Config(format!(
            "{} and {} were encoded with different vectors (or one without); \
             encode both with the same --vectors",
            train.file().path().display(),
            valid.file().path().display()
        )));
    }
    let Some(vectors) = vectors else {
        if let Some(name) = &pipeline.data.vectors {
            return Err(TrainError::Config(format!(
                "the pipeline starts from pre-trained vectors ([data] vectors = \"{name}\"); \
                 give a vectors folder with --vectors (make builds it)"
            )));
        }
        if in_train.is_some() {
            return Err(TrainError::Config(format!(
                "{} was encoded with vectors (its word ids reach past the vocabulary); \
                 give the same vectors folder with --vectors",
                train.file().path().display()
            )));
        }
        return Ok(false);
    };
    let wanted = pipeline.data.extended_vocabulary.unwrap_or(true);
    match &in_train {
        Some(sha) if sha != &vectors.keys_sha256 => Err(InputError::OtherVocabulary {
            batches: train.file().path().to_path_buf(),
            vocab: vectors.dir.keys(),
            key: keys::VECTORS_SHA256.to_string(),
            recorded: sha[..sha.len().min(12)].to_string(),
            on_disk: vectors.keys_sha256[..12].to_string(),
        }
        .into()),
        Some(_) if !wanted => Err(TrainError::Config(format!(
            "the pipeline keeps to the training words ([data] extended_vocabulary = false), \
             but {} was encoded with --vectors",
            train.file().path().display()
        ))),
        None if wanted => Err(TrainError::Config(format!(
            "with --vectors the pipeline looks words up in them ([data] extended_vocabulary), \
             but {} was encoded without; encode it with --vectors {}",
            train.file().path().display(),
            vectors.dir.root().display()
        ))),
        Some(_) => {
            let encoded_static = train.file().metadata().get(keys::STATIC_VECTORS) == Some("true");
            if encoded_static != pipeline.data.static_vectors {
                return Err(TrainError::Config(format!(
                    "the pipeline {} static vectors ([data] static_vectors = {}), but {} was \
                     encoded {} --static-vectors",
                    if pipeline.data.static_vectors {
                        "asks for"
                    } else {
                        "does not ask for"
                    },
                    pipeline.data.static_vectors,
                    train.file().path().display(),
                    if encoded_static { "with" } else { "without" }
                )));
            }
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Refuses batches encoded with other vocabulary files than the ones given.
fn encoded_with(
    split: &EncodedSplit,
    vocab: &Path,
    sha: &str,
    key: &str,
) -> Result<(), TrainError> {
    let recorded = split.file().metadata().require(split.file().path(), key)?;
    if recorded != sha {
        return Err(InputError::OtherVocabulary {
            batches: split.file().path().to_path_buf(),
            vocab: vocab.to_path_buf(),
            key: key.to_string(),
            recorded: recorded[..recorded.len().min(12)].to_string(),
            on_disk: sha[..sha.len().min(12)].to_string(),
        }
        .into());
    }
    Ok(())
}
