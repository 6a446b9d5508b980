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

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ner_core::runs::{read_metrics, EpochMetrics};
use ner_model::card::ModelCard;
use ner_model::folder::ModelDir;
use ner_plot::{Canvas, LineChart, Rect, Series, PALETTE};
use ner_score::{read_json, ScoresJson};

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error(transparent)]
    Score(#[from] ner_score::ScoreError),
    #[error(transparent)]
    Plot(#[from] ner_plot::PlotError),
    #[error(transparent)]
    Model(#[from] ner_model::ModelError),
    #[error("{path}: {message}", path = .path.display())]
    Invalid { path: PathBuf, message: String },
}

/// One trained and scored model.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub name: String,
    pub card: ModelCard,
    pub metrics: Vec<EpochMetrics>,
    pub valid: ScoresJson,
    pub test: ScoresJson,
}

impl Run {
    /// Reads `<models>/<name>/` and `<reports>/<name><suffix>/`.
    pub fn read(
        name: &str,
        models: &Path,
        reports: &Path,
        suffix: &str,
    ) -> Result<Self, ReportError> {
        let model_dir = ModelDir::new(models.join(name));
        let card = ModelCard::read(&model_dir)?;
        let metrics = read_metrics(&model_dir.metrics())?;
        let report_dir = reports.join(format!("{name}{suffix}"));
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
        self.total_seconds() / self.metrics.len().max(1) as f64
    }

    /// The whole run: every epoch's training and validation.
    pub fn total_seconds(&self) -> f64 {
        self.metrics.iter().map(|m| m.epoch_seconds).sum()
    }

    /// The pipeline of a seed run `NAME.seedN`, else the name itself.
    pub fn group(&self) -> &str {
        match self.name.rsplit_once(".seed") {
            Some((base, seed)) if !seed.is_empty() && seed.chars().all(|c| c.is_ascii_digit()) => {
                base
            }
            _ => &self.name,
        }
    }
}

/// Mean and sample standard deviation.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
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
///
/// Seed runs of one pipeline (`NAME.seed1`, `NAME.seed2`, …) are listed one
/// by one and followed by a row with their mean ± standard deviation.
pub fn markdown(runs: &[Run], context: &Context) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Model comparison\n");
    let _ = writeln!(
        out,
        "Made by `{}` on {} ({}). Token macro F1 is scikit-learn's macro average over the tags \
         present (the course's measure); entity F1 is conlleval's phrase-level F1 (the CoNLL \
         shared-task measure), in percent, of the weights selected on validation entity F1. \
         Epoch seconds are training plus validation on this machine; minutes are the whole run.\n",
        context.command, context.date, context.machine
    );
    let types = entity_types(runs);
    let mut header = String::from(
        "| model | parameters | epochs (best) | s / epoch | minutes | val macro F1 | test macro F1 | val entity F1 | test entity F1 |",
    );
    let mut rule = String::from("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for t in &types {
        let _ = write!(header, " test {t} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    let groups = grouped(runs);
    for group in &groups {
        for run in group {
            let _ = write!(
                out,
                "| {} | {} | {} ({}) | {:.1} | {:.1} | {:.4} | {:.4} | {:.2} | {:.2} |",
                run.name,
                thousands(run.card.n_parameters),
                run.card.epochs_done,
                run.card.best_epoch,
                run.mean_epoch_seconds(),
                run.total_seconds() / 60.0,
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
        if group.len() > 1 {
            let stat = |f: &dyn Fn(&Run) -> f64| {
                let (m, sd) = mean_sd(&group.iter().map(|r| f(r)).collect::<Vec<_>>());
                (m, sd)
            };
            let fmt4 = |(m, sd): (f64, f64)| format!("{m:.4} ± {sd:.4}");
            let fmt2 = |(m, sd): (f64, f64)| format!("**{m:.2} ± {sd:.2}**");
            let _ = write!(
                out,
                "| **{} mean ± sd ({} seeds)** | | | {:.1} | {:.1} | {} | {} | {} | {} |",
                group[0].group(),
                group.len(),
                stat(&|r| r.mean_epoch_seconds()).0,
                stat(&|r| r.total_seconds() / 60.0).0,
                fmt4(stat(&|r| r.valid.token_macro_f1)),
                fmt4(stat(&|r| r.test.token_macro_f1)),
                fmt2(stat(&|r| 100.0 * r.valid.f1)),
                fmt2(stat(&|r| 100.0 * r.test.f1)),
            );
            for t in &types {
                let (m, sd) = stat(&|r| 100.0 * r.test.per_type.get(t).map_or(0.0, |s| s.f1));
                let _ = write!(out, " {m:.2} ± {sd:.2} |");
            }
            out.push('\n');
        }
    }

    let _ = writeln!(out, "\n## Entity F1 per type, validation / test\n");
    let mut header = String::from("| model |");
    let mut rule = String::from("|---|");
    for t in &types {
        let _ = write!(header, " {t} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for run in runs {
        let _ = write!(out, "| {} |", run.name);
        for t in &types {
            let f = |s: &ScoresJson| {
                s.per_type
                    .get(t)
                    .map_or("–".to_string(), |v| format!("{:.2}", 100.0 * v.f1))
            };
            let _ = write!(out, " {} / {} |", f(&run.valid), f(&run.test));
        }
        out.push('\n');
    }

    if let Some(best) = runs.iter().max_by(|a, b| a.valid.f1.total_cmp(&b.valid.f1)) {
        let _ = writeln!(
            out,
            "\nBest validation entity F1: **{}** ({:.2}; test {:.2}). The figure shows validation \
             entity F1 per epoch and against cumulative training time.",
            best.name,
            100.0 * best.valid.f1,
            100.0 * best.test.f1
        );
    }
    let _ = writeln!(out, "\n## Models\n");
    let mut described: Vec<&str> = Vec::new();
    for run in runs {
        if !described.contains(&run.group()) {
            described.push(run.group());
            let _ = writeln!(
                out,
                "- `{}`: {}",
                run.group(),
                run.card.pipeline.description
            );
        }
    }
    out
}

/// Runs in order, consecutive seed runs of one pipeline together.
fn grouped(runs: &[Run]) -> Vec<Vec<&Run>> {
    let mut groups: Vec<Vec<&Run>> = Vec::new();
    for run in runs {
        match groups.last_mut() {
            Some(last) if last[0].group() == run.group() && last[0].name != last[0].group() => {
                last.push(run)
            }
            _ => groups.push(vec![run]),
        }
    }
    groups
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd() {
        let (m, sd) = mean_sd(&[84.0, 85.0, 86.0]);
        assert!((m - 85.0).abs() < 1e-12 && (sd - 1.0).abs() < 1e-12);
        assert_eq!(mean_sd(&[3.0]), (3.0, 0.0));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(24_327_433), "24,327,433");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
