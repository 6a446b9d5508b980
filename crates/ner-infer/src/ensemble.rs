//! Several model folders of one tag set decoding together: the uniform
//! mixture of their probabilities, or one CRF over the means of their
//! scores ([`crate::confidence`] gives both rules); and, for one model or
//! several, a second pass with document consistency ([`crate::document`]).

use std::borrow::Cow;
use std::path::Path;

use ner_core::schema::vocab::VocabDir;
use ner_model::folder::{ModelDir, Weights};

use crate::confidence::{self, Combine, Decoded, Member, View};
use crate::document;
use crate::tagger::{Analysis, Options, Tagger};
use crate::InferError;

/// Taggers over one tag set (the seeds of a pipeline, say), each reading
/// the input through its own vocabularies.
#[derive(Debug)]
pub struct Ensemble {
    members: Vec<Tagger>,
    combine: Combine,
}

impl Ensemble {
    /// Refuses an empty list, and members whose data tags, model tags (and
    /// schemes) or source columns differ from the first's.
    pub fn new(members: Vec<Tagger>) -> Result<Self, InferError> {
        let Some(first) = members.first() else {
            return Err(InferError::Input(
                "an ensemble needs at least one model".into(),
            ));
        };
        for other in &members[1..] {
            let differs = if other.tagset() != first.tagset() {
                Some(format!(
                    "its tags [{}] ({:?}, decoded as {:?}) are not [{}] ({:?}, decoded as {:?})",
                    other.tagset().model_tags().join(" "),
                    other.tagset().data_scheme(),
                    other.tagset().model_scheme(),
                    first.tagset().model_tags().join(" "),
                    first.tagset().data_scheme(),
                    first.tagset().model_scheme(),
                ))
            } else if other.columns() != first.columns() {
                Some(format!(
                    "it reads the columns [{}], not [{}]",
                    other.columns().join(", "),
                    first.columns().join(", ")
                ))
            } else {
                None
            };
            if let Some(why) = differs {
                return Err(InferError::Input(format!(
                    "{} cannot join an ensemble with {}: {why}",
                    other.weights_file.display(),
                    first.weights_file.display()
                )));
            }
        }
        Ok(Ensemble {
            members,
            combine: Combine::default(),
        })
    }

    /// Loads every folder of `dirs` (the first decides the tags) with the
    /// same weights and, when given, a vocabulary folder overriding their
    /// own; then [`Ensemble::new`]'s checks.
    pub fn load<P: AsRef<Path>>(
        dirs: impl IntoIterator<Item = P>,
        weights: Weights,
        vocab_dir: Option<&VocabDir>,
    ) -> Result<Self, InferError> {
        let members = dirs
            .into_iter()
            .map(|dir| Tagger::load(&ModelDir::new(dir.as_ref()), weights, vocab_dir))
            .collect::<Result<Vec<_>, _>>()?;
        Ensemble::new(members)
    }

    /// The same members combined by `combine`.
    pub fn combined_by(self, combine: Combine) -> Self {
        Ensemble { combine, ..self }
    }

    pub fn combine(&self) -> Combine {
        self.combine
    }

    pub fn members(&self) -> &[Tagger] {
        &self.members
    }

    /// The first member, whose tag scheme, tags and columns all share.
    pub fn first(&self) -> &Tagger {
        &self.members[0]
    }

    /// Every sentence decoded by the ensemble's rule, in the data's tags
    /// (one member alone decodes as that model does).
    pub fn analyze<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        columns: &[&[Vec<String>]],
        options: Options,
    ) -> Result<Vec<Analysis>, InferError> {
        if let [one] = self.members.as_slice() {
            return one.analyze(sentences, columns, options);
        }
        let rows = self.emission_rows(sentences, columns, options)?;
        (0..sentences.len())
            .map(|i| {
                self.first()
                    .analysis(&self.decode(&rows, i, None, options.nbest))
            })
            .collect()
    }

    /// [`Ensemble::analyze`] with document consistency
    /// ([`crate::document`]) at `weight`: `documents[s]` is sentence `s`'s
    /// document.
    pub fn analyze_in_documents<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        columns: &[&[Vec<String>]],
        documents: &[u32],
        weight: f32,
        options: Options,
    ) -> Result<Vec<Analysis>, InferError> {
        if documents.len() != sentences.len() {
            return Err(InferError::Input(format!(
                "{} sentences but documents for {}",
                sentences.len(),
                documents.len()
            )));
        }
        let rows = self.emission_rows(sentences, columns, options)?;
        let first: Vec<Vec<f64>> = (0..sentences.len())
            .map(|i| self.marginals(&rows, i))
            .collect();
        let marginals: Vec<&[f64]> = first.iter().map(Vec::as_slice).collect();
        let rules = self.first().rules();
        document::bonuses(rules, sentences, documents, &marginals, weight)
            .iter()
            .enumerate()
            .map(|(i, bonus)| {
                self.first()
                    .analysis(&self.decode(&rows, i, bonus.as_deref(), options.nbest))
            })
            .collect()
    }

    /// Each member's emission rows of every sentence (`[member][sentence]`).
    fn emission_rows<S: AsRef<str>, T: AsRef<[S]>>(
        &self,
        sentences: &[T],
        columns: &[&[Vec<String>]],
        options: Options,
    ) -> Result<Vec<Vec<Vec<f32>>>, InferError> {
        self.members
            .iter()
            .map(|m| m.emission_rows(sentences, columns, options))
            .collect()
    }

    /// Sentence `i`'s token marginals (`[t·k + j]`) from the members'
    /// rows: its model's for one member, the ensemble rule's for several
    /// (what [`Ensemble::decode`] reports each chosen tag's probability
    /// from).
    fn marginals(&self, rows: &[Vec<Vec<f32>>], i: usize) -> Vec<f64> {
        if rows[0][i].is_empty() {
            return Vec::new();
        }
        let first = self.first();
        if let [one] = rows {
            let model = first.model();
            return View::new(model.crf(), &one[i], model.n_tags()).marginals();
        }
        let members = self.with_scores(rows.iter().map(|member| member[i].as_slice()));
        confidence::combined_marginals(first.rules(), &members, self.combine)
    }

    /// Sentence `i` decoded from the members' rows, `bonus` added to each
    /// member's emissions: as its model does for one member, by the
    /// ensemble's rule for several.
    fn decode(
        &self,
        rows: &[Vec<Vec<f32>>],
        i: usize,
        bonus: Option<&[f32]>,
        nbest: usize,
    ) -> Decoded {
        if rows[0][i].is_empty() {
            return Decoded::default();
        }
        let rows: Vec<Cow<'_, [f32]>> = rows
            .iter()
            .map(|member| match bonus {
                Some(bonus) => {
                    Cow::Owned(member[i].iter().zip(bonus).map(|(e, b)| e + b).collect())
                }
                None => Cow::Borrowed(member[i].as_slice()),
            })
            .collect();
        let first = self.first();
        if let [one] = rows.as_slice() {
            let model = first.model();
            let view = View::new(model.crf(), one, model.n_tags());
            return confidence::single(first.rules(), &view, model.decode(one), nbest);
        }
        let members = self.with_scores(rows.iter().map(|row| row.as_ref()));
        confidence::combined(first.rules(), &members, self.combine, nbest)
    }

    /// Each member's CRF scores beside its emission rows of one sentence.
    fn with_scores<'a>(&'a self, rows: impl Iterator<Item = &'a [f32]>) -> Vec<Member<'a>> {
        self.members
            .iter()
            .zip(rows)
            .map(|(m, rows)| (m.model().crf(), rows))
            .collect()
    }
}
