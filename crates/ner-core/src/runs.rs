//! A training run's record: `metrics.jsonl` (its place in a model folder is
//! `ner_model::folder::ModelDir::metrics`), one JSON object per epoch,
//! written by `ner-train` and read by the report and plotting tools.

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::artifact::AtomicFile;
use crate::error::{Error, Result};

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_acc: f64,
    pub val_macro_f1: f64,
    pub val_entity_f1: f64,
    /// Training and validation together, as the course times an epoch.
    pub epoch_seconds: f64,
    pub train_seconds: f64,
    /// Where the training time went: the forward pass with the loss, the
    /// backward pass, and the optimizer (gradient reset and Adam step).
    pub forward_seconds: f64,
    pub backward_seconds: f64,
    pub optimizer_seconds: f64,
}

/// Reads a model folder's `metrics.jsonl`.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| Error::invalid(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Writes `metrics.jsonl` atomically.
pub fn write_metrics(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    for m in history {
        let line = serde_json::to_string(m).map_err(|e| Error::invalid(path, e.to_string()))?;
        writeln!(file, "{line}").map_err(|e| Error::io(path, e))?;
    }
    file.commit()
}
