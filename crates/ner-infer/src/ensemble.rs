//! Several model folders of one tag set decoding together: the uniform
//! mixture of their probabilities, or one CRF over the means of their
//! scores ([`crate::confidence`] gives both rules).

use crate::confidence::{self, Combine, View};
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
        let rows = self
            .members
            .iter()
            .map(|m| m.emission_rows(sentences, columns, options))
            .collect::<Result<Vec<_>, _>>()?;
        let first = self.first();
        let k = first.model().n_tags();
        (0..sentences.len())
            .map(|i| {
                let views: Vec<View<'_>> = self
                    .members
                    .iter()
                    .zip(&rows)
                    .map(|(m, rows)| View::new(m.model().crf(), &rows[i], k))
                    .collect();
                let decoded = if rows[0][i].is_empty() {
                    Default::default()
                } else {
                    confidence::combined(first.rules(), &views, self.combine, options.nbest)
                };
                first.analysis(&decoded)
            })
            .collect()
    }
}
