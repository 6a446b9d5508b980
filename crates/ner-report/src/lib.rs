//! The model comparison: which tagger is best, at what cost.
//!
//! In: for each run name, a model folder from `ner-train` (`config.json`,
//! `metrics.jsonl`) and its scores from `ner-score`
//! (`<reports>/<name>/{valid,test}.scores.json`). Out: a Markdown table
//! ([`markdown`]: parameters, epochs, mean epoch seconds, validation and test
//! token macro F1, entity F1 overall and per type) and a figure
//! ([`figure`]: validation entity F1 per epoch, one line per model, and the
//! same F1 against cumulative training time).
//!
//! It reads files only; it never trains or predicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ner_core::runs::{read_metrics, EpochMetrics, METRICS_FILE};
use ner_plot::{Canvas, LineChart, Rect, Series, PALETTE};
use ner_score::{read_json, ScoresJson};
use serde::Deserialize;

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error(transparent)]
    Score(#[from] ner_score::ScoreError),
    #[error(transparent)]
    Plot(#[from] ner_plot::PlotError),
    #[error("{path}: {message}", path = .path.display())]
    Invalid { path: PathBuf, message: String },
}

/// The fields of `ner-train`'s `config.json` that the report shows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CardSummary {
    pub n_parameters: i64,
    pub epochs_done: usize,
    pub best_epoch: usize,
    pub pipeline: PipelineSummary,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PipelineSummary {
    #[serde(default)]
    pub description: String,
}

/// One trained and scored model.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub name: String,
    pub card: CardSummary,
    pub metrics: Vec<EpochMetrics>,
    pub valid: ScoresJson,
    pub test: ScoresJson,
}

impl Run {
    /// Reads `<models>/<name>/` and `<reports>/<name>/`.
    pub fn read(name: &str, models: &Path, reports: &Path) -> Result<Self, ReportError> {
        let model_dir = models.join(name);
        let config = model_dir.join("config.json");
        let bytes = std::fs::read(&config).map_err(|e| ner_core::Error::io(&config, e))?;
        let card: CardSummary =
            serde_json::from_slice(&bytes).map_err(|e| ReportError::Invalid {
                path: config.clone(),
                message: format!("not a model config written by ner-train: {e}"),
            })?;
        let metrics = read_metrics(&model_dir.join(METRICS_FILE))?;
        let report_dir = reports.join(name);
        Ok(Run {
            name: name.to_string(),
            card,
            metrics,
            valid: read_json(&report_dir.join("valid.scores.json"))?,
            test: read_json(&report_dir.join("test.scores.json"))?,
        })
    }

    /// Mean seconds per epoch (training and validation, as the course times it).
    pub fn mean_epoch_seconds(&self) -> f64 {
        let total: f64 = self.metrics.iter().map(|m| m.epoch_seconds).sum();
        total / self.metrics.len().max(1) as f64
    }
}

/// Entity types in the order the table shows them: the CoNLL-2003 four
/// first, then any others alphabetically.
fn entity_types(runs: &[Run]) -> Vec<String> {
    let mut seen: Vec<String> = runs
        .iter()
        .flat_map(|r| r.test.per_type.keys().chain(r.valid.per_type.keys()))
        .cloned()
        .collect();
    seen.sort();
    seen.dedup();
    let preferred = ["PER", "LOC", "ORG", "MISC"];
    let mut out: Vec<String> = preferred
        .iter()
        .filter(|t| seen.iter().any(|s| s == *t))
        .map(|t| t.to_string())
        .collect();
    out.extend(
        seen.into_iter()
            .filter(|s| !preferred.contains(&s.as_str())),
    );
    out
}

/// The comparison table and notes, in Markdown.
pub fn markdown(runs: &[Run], context: &Context) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Model comparison\n");
    let _ = writeln!(
        out,
        "Made by `{}` on {} ({}). Token macro F1 is scikit-learn's macro average over the tags \
         present (the course's measure); entity F1 is conlleval's phrase-level F1 (the CoNLL \
         shared-task measure) of the weights selected on validation entity F1. Epoch seconds \
         are training plus validation on this machine.\n",
        context.command, context.date, context.machine
    );
    let types = entity_types(runs);
    let mut header = String::from(
        "| model | parameters | epochs (best) | s / epoch | val macro F1 | test macro F1 | val entity F1 | test entity F1 |",
    );
    let mut rule = String::from("|---|---:|---:|---:|---:|---:|---:|---:|");
    for t in &types {
        let _ = write!(header, " test {t} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for run in runs {
        let _ = write!(
            out,
            "| {} | {} | {} ({}) | {:.1} | {:.4} | {:.4} | {:.2} | {:.2} |",
            run.name,
            thousands(run.card.n_parameters),
            run.card.epochs_done,
            run.card.best_epoch,
            run.mean_epoch_seconds(),
            run.valid.token_macro_f1,
            run.test.token_macro_f1,
            100.0 * run.valid.f1,
            100.0 * run.test.f1
        );
        for t in &types {
            match run.test.per_type.get(t) {
                Some(s) => {
                    let _ = write!(out, " {:.2} |", 100.0 * s.f1);
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    if let Some(best) = runs.iter().max_by(|a, b| a.test.f1.total_cmp(&b.test.f1)) {
        let _ = writeln!(
            out,
            "\nBest test entity F1: **{}** ({:.2}). The figure `compare.png` shows validation \
             entity F1 per epoch and against cumulative training time.",
            best.name,
            100.0 * best.test.f1
        );
    }
    let _ = writeln!(out, "\n## Models\n");
    for run in runs {
        let _ = writeln!(out, "- `{}`: {}", run.name, run.card.pipeline.description);
    }
    out
}

/// Where the report came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The command that made it, e.g. `make compare`.
    pub command: String,
    pub date: String,
    pub machine: String,
}

/// Draws validation entity F1 per epoch and against cumulative training time.
pub fn figure(runs: &[Run], path: &Path) -> Result<(), ReportError> {
    let mut canvas = Canvas::new(1400, 600)?;
    let color = |i: usize| PALETTE[i % PALETTE.len()];
    let per_epoch = LineChart {
        title: "Validation entity F1 per epoch".into(),
        x_label: "epoch".into(),
        y_label: "entity F1".into(),
        log_y: false,
        series: runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Series::new(
                    &r.name,
                    color(i),
                    r.metrics
                        .iter()
                        .map(|m| (m.epoch as f64, m.val_entity_f1))
                        .collect(),
                )
            })
            .collect(),
    };
    let per_second = LineChart {
        title: "Validation entity F1 against training time".into(),
        x_label: "cumulative seconds (training + validation)".into(),
        y_label: "entity F1".into(),
        log_y: false,
        series: runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut elapsed = 0.0;
                let points = r
                    .metrics
                    .iter()
                    .map(|m| {
                        elapsed += m.epoch_seconds;
                        (elapsed, m.val_entity_f1)
                    })
                    .collect();
                Series::new(&r.name, color(i), points)
            })
            .collect(),
    };
    per_epoch.draw(&mut canvas, Rect::new(0.0, 0.0, 700.0, 600.0));
    per_second.draw(&mut canvas, Rect::new(700.0, 0.0, 700.0, 600.0));
    canvas.save_png(path)?;
    Ok(())
}

/// `24327433` → `24,327,433`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// Per-type F1 of a scores file, for callers that tabulate differently.
pub fn per_type_f1(scores: &ScoresJson) -> BTreeMap<String, f64> {
    scores
        .per_type
        .iter()
        .map(|(k, v)| (k.clone(), v.f1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(24_327_433), "24,327,433");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
