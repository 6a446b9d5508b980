//! A model folder loaded for tagging token strings: the card, its
//! vocabularies (checked by SHA-256), the weights and the model's tag set.

use std::collections::HashMap;
use std::path::PathBuf;

use ner_core::schema::vocab::VocabDir;
use ner_core::scheme::TagScheme;
use ner_core::tables::TokenIds;
use ner_model::card::{ModelCard, TaggerSpec};
use ner_model::config::WordVectors;
use ner_model::folder::{ModelDir, Weights as WeightsFile};
use ner_model::tagset::TagSet;

use crate::confidence::{self, Decoded, Rules, ScoredSpan, View};
use crate::model::{Model, Sentence};
use crate::weights::Weights;
use crate::InferError;

/// How to run a tagger over many sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Sentences per forward pass.
    pub batch_size: usize,
    pub threads: usize,
    /// Paths of the n-best list (CRF models and ensembles; 0: none).
    pub nbest: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch_size: 512,
            threads: 1,
            nbest: 0,
        }
    }
}

/// One sentence tagged, with how sure the model is, in the data's tags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    pub tags: Vec<String>,
    /// The probability of each chosen tag (its marginal).
    pub probs: Vec<f32>,
    /// The entities of `tags`, each with its probability.
    pub entities: Vec<ScoredSpan>,
    /// The n best tag sequences with their probabilities, best first.
    pub nbest: Vec<(Vec<String>, f64)>,
}

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
    /// Per source column the model reads, its name and value ids.
    columns: Vec<(String, HashMap<String, i64>)>,
    /// The model's tag set's chunk rules, for entity probabilities.
    rules: Rules,
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
                let first = card.vectors.as_ref().is_some_and(|c| c.static_vectors);
                token_ids = token_ids
                    .with_vectors(&v.keys, vocabs.words.len() as i64)
                    .vectors_first(first);
                spec.n_vector_rows = card.vectors.as_ref().map_or(0, |c| c.rows);
                spec.vector_dim = card.vectors.as_ref().map_or(0, |c| c.dim);
                if card.pipeline.model.word_vectors == WordVectors::Beside {
                    spec.word_vector_rows = TaggerSpec::word_vector_rows(&vocabs.words, &token_ids);
                }
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
        let columns = vocabs
            .columns
            .iter()
            .map(|(name, vocab)| {
                let ids = vocab
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(id, (value, _))| (value.clone(), id as i64))
                    .collect();
                (name.clone(), ids)
            })
            .collect();
        let rules = Rules::new(tagset.model_tags(), tagset.model_scheme());
        Ok(Tagger {
            card,
            weights_file,
            model,
            tagset,
            token_ids,
            columns,
            rules,
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

    /// Whether it decodes with a CRF (and so has n-best paths).
    pub fn has_crf(&self) -> bool {
        self.model.crf().is_some()
    }

    /// The source columns the model reads beside the words, in order
    /// (`model.columns`; empty for most models).
    pub fn columns(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Each sentence's ids: words, characters where the model reads them,
    /// and its columns' values (`columns[c][s]`, unknown values `<UNK>`).
    fn ids<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        columns: &[&[Vec<String>]],
    ) -> Vec<Sentence> {
        let reads_chars = self.model.reads_chars();
        let unk = i64::from(ner_core::schema::vocab::UNK_ID);
        sentences
            .iter()
            .enumerate()
            .map(|(i, tokens)| {
                let tokens = tokens.as_ref();
                Sentence {
                    columns: self
                        .columns
                        .iter()
                        .zip(columns)
                        .map(|((_, ids), values)| {
                            values[i]
                                .iter()
                                .map(|v| ids.get(v).copied().unwrap_or(unk))
                                .collect()
                        })
                        .collect(),
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
        self.tag_with_columns(sentences, &[], batch_size, threads)
    }

    /// [`Tagger::tag`] for a model that reads source columns beside the
    /// words: `columns[c][s]` holds sentence `s`'s values of the model's
    /// column `c` ([`Tagger::columns`]), one per token.
    pub fn tag_with_columns<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        columns: &[&[Vec<String>]],
        batch_size: usize,
        threads: usize,
    ) -> Result<Vec<Vec<String>>, InferError> {
        self.check_columns(sentences.len(), columns)?;
        let paths = self
            .model
            .tag(&self.ids(sentences, columns), batch_size, threads)?;
        paths.iter().map(|path| self.data_tags(path)).collect()
    }

    /// [`Tagger::tag_with_columns`] with the probability of every tag and
    /// entity, and the n-best paths ([`crate::confidence`]).
    pub fn analyze<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        columns: &[&[Vec<String>]],
        options: Options,
    ) -> Result<Vec<Analysis>, InferError> {
        if options.nbest > 0 && self.model.crf().is_none() {
            return Err(InferError::Input(format!(
                "n-best paths need a CRF model; {} has a softmax output",
                self.card.name
            )));
        }
        self.check_columns(sentences.len(), columns)?;
        let k = self.model.n_tags();
        let decoded = self.model.map_emissions(
            &self.ids(sentences, columns),
            options.batch_size,
            options.threads,
            |rows| {
                let view = View::new(self.model.crf(), rows, k);
                confidence::single(&self.rules, &view, self.model.decode(rows), options.nbest)
            },
        )?;
        decoded.iter().map(|d| self.analysis(d)).collect()
    }

    /// Each sentence's emission rows (`[len, tags]`), for an ensemble.
    pub(crate) fn emission_rows<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        columns: &[&[Vec<String>]],
        options: Options,
    ) -> Result<Vec<Vec<f32>>, InferError> {
        self.check_columns(sentences.len(), columns)?;
        self.model.map_emissions(
            &self.ids(sentences, columns),
            options.batch_size,
            options.threads,
            <[f32]>::to_vec,
        )
    }

    pub(crate) fn model(&self) -> &Model {
        &self.model
    }

    pub(crate) fn rules(&self) -> &Rules {
        &self.rules
    }

    pub(crate) fn tagset(&self) -> &TagSet {
        &self.tagset
    }

    /// A decoded sentence in the data's tags.
    pub(crate) fn analysis(&self, decoded: &Decoded) -> Result<Analysis, InferError> {
        Ok(Analysis {
            tags: self.data_tags(&decoded.path)?,
            probs: decoded.probs.iter().map(|&p| p as f32).collect(),
            entities: decoded.spans.clone(),
            nbest: decoded
                .nbest
                .iter()
                .map(|(path, p)| Ok((self.data_tags(path)?, *p)))
                .collect::<Result<_, InferError>>()?,
        })
    }

    /// A path of the model's tag ids in the data's tag names.
    fn data_tags(&self, path: &[i64]) -> Result<Vec<String>, InferError> {
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
    }

    /// Input columns: one list per column the model reads, one value list
    /// per sentence.
    fn check_columns(&self, n: usize, columns: &[&[Vec<String>]]) -> Result<(), InferError> {
        if columns.len() != self.columns.len() {
            return Err(InferError::Input(format!(
                "the model reads the columns [{}] beside the words; the input has {}: give \
                 CoNLL input with those columns, or a sentences Parquet file from ner-convert",
                self.columns().join(", "),
                if columns.is_empty() {
                    "none".to_string()
                } else {
                    format!("{} others", columns.len())
                }
            )));
        }
        if let Some(bad) = columns.iter().find(|c| c.len() != n) {
            return Err(InferError::Input(format!(
                "{} sentences but column values for {}",
                n,
                bad.len()
            )));
        }
        Ok(())
    }
}
