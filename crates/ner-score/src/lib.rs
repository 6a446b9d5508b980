//! Stage 5: score predicted tags the way the field scores them.
//!
//! In: either conlleval's own input (columns separated by spaces, the last
//! two the gold and the predicted tag, blank or `-X-` lines between
//! sentences; [`score_conll`]) or a predictions file from `ner-predict`
//! ([`score_predictions`]). Out: a [`Report`] holding
//! - the `conlleval` counts ([`ner_core::conlleval`]), whose
//!   [`Report::conlleval`] text is byte for byte what the Perl script prints;
//! - a token-level confusion matrix and macro F1 (as training reports it);
//! - [`Report::to_json`], the `scores.json` layout;
//! - for predictions with entity probabilities, their [`calibration`]
//!   (expected calibration error, a reliability diagram).
//!
//! Predictions in BIOES are scored in their IOB2 form, because conlleval
//! does not know `S-` and merges adjacent `E-X B-X` phrases; IOB1 and IOB2
//! are scored as written.
//!
//! It never touches tensors or models.
//!
//! ```
//! use ner_score::score_conll;
//! use ner_core::conlleval::Options;
//!
//! let input = b"EU B-ORG B-ORG\nrejects O O\nGerman B-MISC O\n";
//! let report = score_conll("x.conll".as_ref(), input, &Options::default())?;
//! assert_eq!(report.counts.correct, 1);
//! assert!(report.conlleval().starts_with(b"processed 3 tokens with 2 phrases"));
//! # Ok::<(), ner_score::ScoreError>(())
//! ```

pub mod calibration;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ner_core::conlleval::{self, Counter, Counts, Line, Options};
use ner_core::metrics::Confusion;
use ner_core::schema::keys;
use ner_core::scheme::{convert, Tag, TagScheme};
use ner_core::tables::PredictionRows;
use serde::{Deserialize, Serialize};

/// Errors of the score stage; every one names the file.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Input(#[from] conlleval::InputError),
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error("{path}: {message}", path = .path.display())]
    Invalid { path: PathBuf, message: String },
    /// Tag sequences in memory that cannot be scored ([`score_tags`]).
    #[error("{0}")]
    Tags(String),
}

/// Everything a scoring run found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub counts: Counts,
    pub confusion: Confusion,
    /// Of the entity probabilities, where the predictions have them.
    pub calibration: Option<calibration::Calibration>,
}

/// Scores conlleval input (the bytes of `path`).
pub fn score_conll(path: &Path, bytes: &[u8], options: &Options) -> Result<Report, ScoreError> {
    let mut confusion = Confusion::default();
    let counts = conlleval::read(path, bytes, options, |line| {
        if let Line::Token { gold, predicted } = line {
            confusion.add(
                &String::from_utf8_lossy(gold),
                &String::from_utf8_lossy(predicted),
            );
        }
    })?;
    Ok(Report {
        counts,
        confusion,
        calibration: None,
    })
}

/// Scores a predictions file from `ner-predict`; it must hold gold tags.
pub fn score_predictions(path: &Path) -> Result<Report, ScoreError> {
    let rows = PredictionRows::read(path)?;
    let scheme: TagScheme = rows
        .metadata
        .get(keys::SCHEME)
        .unwrap_or("iob2")
        .parse()
        .map_err(|message| ScoreError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
    let mut pairs = Vec::with_capacity(rows.len());
    for (i, (gold, predicted)) in rows.gold.iter().zip(&rows.predicted).enumerate() {
        let gold = gold.as_ref().ok_or_else(|| ScoreError::Invalid {
            path: path.to_path_buf(),
            message: format!(
                "sentence {} has no gold tags to score against",
                rows.sentence_ids[i]
            ),
        })?;
        pairs.push((
            for_conlleval(gold, scheme, path)?,
            for_conlleval(predicted, scheme, path)?,
        ));
    }
    let (counter, confusion) = count(&pairs);
    let calibration =
        calibration::Calibration::of(&rows).map_err(|message| ScoreError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
    Ok(Report {
        counts: counter.counts(),
        confusion,
        calibration,
    })
}

/// Scores tag sequences in memory: `predicted[s]` against `gold[s]`, both
/// in `scheme`, as conlleval would score them written one token a line.
pub fn score_tags(
    gold: &[Vec<String>],
    predicted: &[Vec<String>],
    scheme: TagScheme,
) -> Result<Report, ScoreError> {
    if gold.len() != predicted.len() {
        return Err(ScoreError::Tags(format!(
            "{} gold sentences and {} predicted sentences",
            gold.len(),
            predicted.len()
        )));
    }
    let label = Path::new("<tags>");
    let mut pairs = Vec::with_capacity(gold.len());
    for (s, (g, p)) in gold.iter().zip(predicted).enumerate() {
        if g.len() != p.len() {
            return Err(ScoreError::Tags(format!(
                "sentence {s}: {} gold tags and {} predicted tags",
                g.len(),
                p.len()
            )));
        }
        for tag in g.iter().chain(p) {
            if Tag::parse(tag).is_none() {
                return Err(ScoreError::Tags(format!(
                    "sentence {s}: {}",
                    ner_core::scheme::invalid_tag_message(tag)
                )));
            }
        }
        pairs.push((
            for_conlleval(g, scheme, label)?,
            for_conlleval(p, scheme, label)?,
        ));
    }
    let (counter, confusion) = count(&pairs);
    Ok(Report {
        counts: counter.counts(),
        confusion,
        calibration: None,
    })
}

/// conlleval's counts and the tag confusion of (gold, predicted) sentences.
fn count(pairs: &[(Vec<String>, Vec<String>)]) -> (Counter, Confusion) {
    let mut counter = Counter::new();
    let mut confusion = Confusion::default();
    for (gold, predicted) in pairs {
        for (g, p) in gold.iter().zip(predicted) {
            confusion.add(g, p);
        }
        counter.sentence(gold, predicted);
    }
    (counter, confusion)
}

/// The tags conlleval should see: BIOES rewritten as IOB2, others as they are.
pub fn for_conlleval(
    tags: &[String],
    scheme: TagScheme,
    path: &Path,
) -> Result<Vec<String>, ScoreError> {
    if scheme != TagScheme::Bioes {
        return Ok(tags.to_vec());
    }
    let parsed = tags
        .iter()
        .map(|t| {
            Tag::parse(t).ok_or_else(|| ScoreError::Invalid {
                path: path.to_path_buf(),
                message: ner_core::scheme::invalid_tag_message(t),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(convert(&parsed, TagScheme::Iob2))
}

/// `scores.json`: fractions in [0, 1], counts as conlleval counts them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoresJson {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub accuracy: f64,
    pub token_macro_f1: f64,
    pub tokens: u64,
    pub phrases: u64,
    pub found: u64,
    pub correct: u64,
    pub per_type: std::collections::BTreeMap<String, TypeScores>,
    pub confusion: ConfusionJson,
    /// Entity confidences against correctness (predictions with entity
    /// probabilities only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<calibration::Calibration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub found: u64,
    pub gold: u64,
    pub correct: u64,
}

/// Rows are gold tags, columns predicted tags, both in `labels` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionJson {
    pub labels: Vec<String>,
    pub matrix: Vec<Vec<u64>>,
}

impl Report {
    /// conlleval's report, byte for byte.
    pub fn conlleval(&self) -> Vec<u8> {
        self.counts.report()
    }

    /// conlleval's `-l` LaTeX table, byte for byte.
    pub fn latex(&self) -> Vec<u8> {
        self.counts.latex_report()
    }

    /// Token-level macro F1 over the tags present (a fraction).
    pub fn token_macro_f1(&self) -> f64 {
        self.confusion.token_macro_f1()
    }

    /// The token-level part: macro F1, per-tag scores and the confusion matrix.
    pub fn details(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "token accuracy: {:.4}; token macro F1: {:.4} over {} tags",
            self.confusion.accuracy(),
            self.token_macro_f1(),
            self.confusion.labels().len()
        );
        let labels = self.confusion.labels();
        let width = labels.iter().map(String::len).max().unwrap_or(1).max(6);
        let _ = writeln!(
            out,
            "{:>width$}  {:>9}  {:>6}  {:>6}  {:>6}",
            "tag", "precision", "recall", "f1", "gold"
        );
        for (label, tp, gold, predicted) in self.confusion.per_label() {
            let p = fraction(tp, predicted);
            let r = fraction(tp, gold);
            let f = fraction(2 * tp, gold + predicted);
            let _ = writeln!(
                out,
                "{label:>width$}  {p:>9.4}  {r:>6.4}  {f:>6.4}  {gold:>6}"
            );
        }
        let matrix = self.confusion.matrix();
        let cell = matrix
            .iter()
            .flatten()
            .map(|n| n.to_string().len())
            .chain(labels.iter().map(String::len))
            .max()
            .unwrap_or(1);
        let _ = writeln!(out, "confusion (rows gold, columns predicted):");
        let _ = write!(out, "{:>width$}", "");
        for label in &labels {
            let _ = write!(out, " {label:>cell$}");
        }
        out.push('\n');
        for (label, row) in labels.iter().zip(&matrix) {
            let _ = write!(out, "{label:>width$}");
            for n in row {
                let _ = write!(out, " {n:>cell$}");
            }
            out.push('\n');
        }
        out
    }

    /// The `scores.json` content.
    pub fn to_json(&self) -> ScoresJson {
        let overall = self.counts.overall();
        let per_type = self
            .counts
            .types()
            .into_iter()
            .map(|kind| {
                let c = self.counts.type_counts(kind);
                let scores = self.counts.type_scores(kind);
                (
                    String::from_utf8_lossy(kind).into_owned(),
                    TypeScores {
                        precision: scores.precision / 100.0,
                        recall: scores.recall / 100.0,
                        f1: scores.f1 / 100.0,
                        found: c.found,
                        gold: c.gold,
                        correct: c.correct,
                    },
                )
            })
            .collect();
        ScoresJson {
            precision: overall.precision / 100.0,
            recall: overall.recall / 100.0,
            f1: overall.f1 / 100.0,
            accuracy: self.counts.accuracy() / 100.0,
            token_macro_f1: self.token_macro_f1(),
            tokens: self.counts.tokens,
            phrases: self.counts.gold,
            found: self.counts.found,
            correct: self.counts.correct,
            per_type,
            confusion: ConfusionJson {
                labels: self.confusion.labels(),
                matrix: self.confusion.matrix(),
            },
            calibration: self.calibration.clone(),
        }
    }
}

fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Reads the input of `--conll`: a file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, ScoreError> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| ner_core::Error::io("<stdin>", e))?;
        Ok(bytes)
    } else {
        Ok(std::fs::read(path).map_err(|e| ner_core::Error::io(path, e))?)
    }
}

/// Reads a `scores.json` written by [`write_json`].
pub fn read_json(path: &Path) -> Result<ScoresJson, ScoreError> {
    let bytes = std::fs::read(path).map_err(|e| ner_core::Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| ScoreError::Invalid {
        path: path.to_path_buf(),
        message: format!("not a scores.json written by ner-score: {e}"),
    })
}

/// Writes `scores.json` atomically.
pub fn write_json(report: &Report, path: &Path) -> Result<(), ScoreError> {
    let json = serde_json::to_vec_pretty(&report.to_json()).map_err(|e| ScoreError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    ner_core::artifact::write_atomic(path, &json)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_in_memory_score_as_their_conll_text() {
        let text = b"a B-PER B-PER\nb I-PER O\nc O B-LOC\n\nd B-LOC B-LOC\n";
        let from_text = score_conll(Path::new("t"), text, &Options::default()).expect("valid");
        let s = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        let gold = [s(&["B-PER", "I-PER", "O"]), s(&["B-LOC"])];
        let predicted = [s(&["B-PER", "O", "B-LOC"]), s(&["B-LOC"])];
        let from_tags = score_tags(&gold, &predicted, TagScheme::Iob2).expect("valid");
        assert_eq!(from_tags.counts, from_text.counts);
        assert_eq!(from_tags.conlleval(), from_text.conlleval());
        let err = score_tags(&gold[..1], &predicted, TagScheme::Iob2).expect_err("counts");
        assert_eq!(
            err.to_string(),
            "1 gold sentences and 2 predicted sentences"
        );
    }

    #[test]
    fn json_holds_fractions_and_per_type_counts() {
        let input = b"a B-PER B-PER\nb I-PER O\nc B-LOC B-LOC\n";
        let report = score_conll(Path::new("t"), input, &Options::default()).expect("valid");
        let json = serde_json::to_value(report.to_json()).expect("json");
        assert_eq!(json["phrases"], 2);
        assert_eq!(json["found"], 2);
        assert_eq!(json["correct"], 1);
        assert_eq!(json["tokens"], 3);
        assert!((json["f1"].as_f64().expect("f1") - 0.5).abs() < 1e-12);
        assert_eq!(json["per_type"]["LOC"]["correct"], 1);
        assert_eq!(json["per_type"]["PER"]["gold"], 1);
        assert_eq!(json["per_type"]["PER"]["f1"], 0.0);
        assert_eq!(
            json["confusion"]["labels"],
            serde_json::json!(["O", "B-LOC", "B-PER", "I-PER"])
        );
    }

    #[test]
    fn bioes_is_scored_in_its_iob2_form() {
        let tags: Vec<String> = ["S-PER", "S-PER", "B-LOC", "E-LOC"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let iob2 = for_conlleval(&tags, TagScheme::Bioes, Path::new("t")).expect("valid");
        assert_eq!(iob2, ["B-PER", "B-PER", "B-LOC", "I-LOC"]);
    }

    #[test]
    fn details_list_every_tag() {
        let input = b"a B-PER B-PER\nb I-PER O\n";
        let report = score_conll(Path::new("t"), input, &Options::default()).expect("valid");
        let details = report.details();
        assert!(
            details.starts_with("token accuracy: 0.5000; token macro F1: 0.3333 over 3 tags\n"),
            "{details}"
        );
        assert!(details.contains("confusion (rows gold, columns predicted):"));
    }
}
