//! A model folder loaded for tagging token strings: the card, its
//! vocabularies (checked by SHA-256), the weights and the model's tag set.

use std::path::PathBuf;

use ner_core::schema::vocab::VocabDir;
use ner_core::scheme::TagScheme;
use ner_core::tables::TokenIds;
use ner_model::card::{ModelCard, TaggerSpec};
use ner_model::folder::{ModelDir, Weights as WeightsFile};
use ner_model::tagset::TagSet;

use crate::model::{Model, Sentence};
use crate::weights::Weights;
use crate::InferError;

/// A trained tagger over words: token strings in, tags of the data's scheme
/// out. One `Tagger` may be shared by threads.
#[derive(Debug)]
pub struct Tagger {
    pub card: ModelCard,
    pub weights_file: PathBuf,
    model: Model,
    /// The model's tags and the data's (`card.tags`).
    tagset: TagSet,
    token_ids: TokenIds,
}

impl Tagger {
    /// Loads `config.json`, the vocabularies (from `vocab_dir` when given,
    /// else the folder's own; refusing files whose fingerprints differ from
    /// the ones the model was trained with) and the weights.
    pub fn load(
        dir: &ModelDir,
        weights: WeightsFile,
        vocab_dir: Option<&VocabDir>,
    ) -> Result<Self, InferError> {
        let card = ModelCard::read(dir)?;
        let vocabs = card.vocabularies(dir, vocab_dir)?;
        let vectors = card.vectors(dir, None)?;
        let weights_file = dir.weights(weights);
        let tagset = vocabs.tag_set(&card.pipeline.model)?;
        let mut token_ids = TokenIds::new(
            &vocabs.words,
            &vocabs.chars,
            card.lowercases(),
            card.max_word_chars,
        );
        let mut spec = TaggerSpec::new(&vocabs, &tagset);
        let matrix = match &vectors {
            Some(v) => {
                token_ids = token_ids.with_vectors(&v.keys, vocabs.words.len() as i64);
                spec.n_vector_rows = card.vectors.as_ref().map_or(0, |c| c.rows);
                Some(Weights::open(&v.matrix)?)
            }
            None => None,
        };
        let model = Model::load(
            &card.pipeline.model,
            &spec,
            &Weights::open(&weights_file)?,
            matrix.as_ref(),
            token_ids.max_word_chars(),
        )?;
        Ok(Tagger {
            card,
            weights_file,
            model,
            tagset,
            token_ids,
        })
    }

    /// The tag scheme of the tags it returns (the data's).
    pub fn scheme(&self) -> Result<TagScheme, InferError> {
        self.card
            .scheme
            .parse()
            .map_err(|e: String| InferError::Model(ner_model::TagError(e).into()))
    }

    /// The data's tag names, by id.
    pub fn tags(&self) -> &[String] {
        &self.card.tags
    }

    /// Each sentence's ids: words, and characters where the model reads them.
    fn ids<S: AsRef<str>, T: AsRef<[S]>>(&self, sentences: &[T]) -> Vec<Sentence> {
        let reads_chars = self.model.reads_chars();
        sentences
            .iter()
            .map(|tokens| {
                let tokens = tokens.as_ref();
                Sentence {
                    words: tokens
                        .iter()
                        .map(|t| self.token_ids.word(t.as_ref()))
                        .collect(),
                    chars: if reads_chars {
                        tokens
                            .iter()
                            .map(|t| self.token_ids.chars(t.as_ref()).collect())
                            .collect()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect()
    }

    /// Predicted tags for each sentence, in input order, `batch_size`
    /// sentences at a time over `threads` threads.
    pub fn tag<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        batch_size: usize,
        threads: usize,
    ) -> Result<Vec<Vec<String>>, InferError> {
        let paths = self.model.tag(&self.ids(sentences), batch_size, threads)?;
        paths
            .iter()
            .map(|path| {
                // In the data's tags, whatever scheme the model decodes in.
                let path = self
                    .tagset
                    .to_data(path)
                    .map_err(ner_model::ModelError::from)?;
                Ok(path
                    .iter()
                    .map(|&t| {
                        self.card
                            .tags
                            .get(t as usize)
                            .cloned()
                            .unwrap_or_else(|| "O".into())
                    })
                    .collect())
            })
            .collect()
    }
}
