//! Whether a model's entity confidences mean what they say: predicted
//! entities binned by confidence, each bin's mean confidence against the
//! fraction of its entities that are correct (a reliability diagram), and
//! the expected calibration error `ECE = Σ_b (n_b / N) · |accuracy_b −
//! confidence_b|` over [`BINS`] equal-width bins.
//!
//! An entity is correct when the gold tags hold the same span with the same
//! type (conlleval's rule, [`ner_core::scheme::spans`]); its confidence is
//! `ner-predict`'s `entity_probs`.

use std::collections::HashSet;
use std::path::Path;

use ner_core::scheme::{spans, Span, Tag};
use ner_core::tables::PredictionRows;
use ner_plot::{Canvas, LineChart, PlotError, Rect, Series};
use serde::{Deserialize, Serialize};

/// Equal-width confidence bins over [0, 1].
pub const BINS: usize = 10;

/// One bin of the diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub lower: f64,
    pub upper: f64,
    pub entities: u64,
    /// Mean confidence of its entities (0 when empty).
    pub confidence: f64,
    /// Fraction of its entities that are correct (0 when empty).
    pub accuracy: f64,
}

/// The reliability of a predictions file's entity confidences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Expected calibration error, a fraction.
    pub ece: f64,
    pub entities: u64,
    pub bins: Vec<Bin>,
}

fn entity_spans(tags: &[String]) -> Vec<Span> {
    let parsed: Vec<Tag<'_>> = tags
        .iter()
        .map(|t| Tag::parse(t).unwrap_or(Tag::O))
        .collect();
    spans(&parsed)
}

impl Calibration {
    /// `None` for files without entity probabilities (written before
    /// `ner-predict` had them) or without gold tags. A sentence whose
    /// number of probabilities differs from its entities is an error.
    pub fn of(rows: &PredictionRows) -> Result<Option<Self>, String> {
        if rows.entity_probs.iter().all(Vec::is_empty)
            && rows.predicted.iter().any(|p| !entity_spans(p).is_empty())
        {
            return Ok(None);
        }
        let mut sums = vec![(0u64, 0f64, 0u64); BINS];
        for (i, predicted) in rows.predicted.iter().enumerate() {
            let Some(gold) = &rows.gold[i] else {
                return Ok(None);
            };
            let gold: HashSet<Span> = entity_spans(gold).into_iter().collect();
            let found = entity_spans(predicted);
            let probs = rows.entity_probs.get(i).map_or(&[][..], Vec::as_slice);
            if probs.len() != found.len() {
                return Err(format!(
                    "sentence {}: {} predicted entities but {} entity probabilities",
                    rows.sentence_ids[i],
                    found.len(),
                    probs.len()
                ));
            }
            for (span, &p) in found.iter().zip(probs) {
                let p = f64::from(p).clamp(0.0, 1.0);
                let bin = ((p * BINS as f64) as usize).min(BINS - 1);
                let s = &mut sums[bin];
                s.0 += 1;
                s.1 += p;
                s.2 += u64::from(gold.contains(span));
            }
        }
        let total: u64 = sums.iter().map(|s| s.0).sum();
        let bins: Vec<Bin> = sums
            .iter()
            .enumerate()
            .map(|(b, &(n, conf, correct))| Bin {
                lower: b as f64 / BINS as f64,
                upper: (b + 1) as f64 / BINS as f64,
                entities: n,
                confidence: if n == 0 { 0.0 } else { conf / n as f64 },
                accuracy: if n == 0 {
                    0.0
                } else {
                    correct as f64 / n as f64
                },
            })
            .collect();
        let ece = bins
            .iter()
            .map(|b| b.entities as f64 / total.max(1) as f64 * (b.accuracy - b.confidence).abs())
            .sum();
        Ok(Some(Calibration {
            ece,
            entities: total,
            bins,
        }))
    }

    /// The reliability diagram as a PNG: the bins' accuracy against their
    /// confidence, beside the diagonal of perfect calibration.
    pub fn draw(&self, title: &str, path: &Path) -> Result<(), PlotError> {
        let observed = self
            .bins
            .iter()
            .filter(|b| b.entities > 0)
            .map(|b| (b.confidence, b.accuracy))
            .collect();
        let chart = LineChart {
            title: format!(
                "{title}: ECE {:.4} over {} entities",
                self.ece, self.entities
            ),
            x_label: "confidence (mean of the bin)".into(),
            y_label: "fraction correct".into(),
            log_y: false,
            series: vec![
                Series::new(
                    "perfect calibration",
                    [160, 160, 160],
                    vec![(0.0, 0.0), (1.0, 1.0)],
                ),
                Series::new("entities, 10 bins", [31, 119, 180], observed),
            ],
        };
        let mut canvas = Canvas::new(720, 560)?;
        chart.draw(&mut canvas, Rect::new(0.0, 0.0, 720.0, 560.0));
        canvas.save_png(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bins_and_ece() {
        let rows = PredictionRows {
            sentence_ids: vec![0, 1],
            tokens: vec![strings(&["a", "b", "c"]), strings(&["d"])],
            gold: vec![
                Some(strings(&["B-PER", "O", "B-LOC"])),
                Some(strings(&["B-ORG"])),
            ],
            predicted: vec![strings(&["B-PER", "O", "B-PER"]), strings(&["B-ORG"])],
            entity_probs: vec![vec![0.95, 0.91], vec![0.35]],
            ..Default::default()
        };
        let c = Calibration::of(&rows)
            .expect("consistent")
            .expect("has probabilities");
        assert_eq!(c.entities, 3);
        let top = &c.bins[9];
        assert_eq!((top.entities, top.accuracy), (2, 0.5));
        assert!((top.confidence - 0.93).abs() < 1e-6);
        assert_eq!((c.bins[3].entities, c.bins[3].accuracy), (1, 1.0));
        let want = 2.0 / 3.0 * (0.5f64 - 0.93).abs() + 1.0 / 3.0 * (1.0f64 - 0.35).abs();
        assert!((c.ece - want).abs() < 1e-6, "{}", c.ece);
        // Files from before entity probabilities have none.
        let old = PredictionRows {
            entity_probs: Vec::new(),
            ..rows.clone()
        };
        assert_eq!(Calibration::of(&old), Ok(None));
        let wrong = PredictionRows {
            entity_probs: vec![vec![0.9], vec![0.3]],
            ..rows
        };
        assert!(Calibration::of(&wrong)
            .unwrap_err()
            .contains("sentence 0: 2 predicted entities"));
    }
}
