//! Resumable checkpoints: `resume.safetensors` in the model folder
//! ([`ModelDir::checkpoint`]).
//!
//! One file, written atomically (temporary name, then rename), holds
//! everything a run needs to continue exactly where it stopped: the raw
//! weights (`model.<variable>`), the optimizer's buffers
//! (`optimizer.<buffer>.<i>`), the weight average (`average.<i>`),
//! libtorch's CPU random-number state (`rng.cpu`, bytes) and the loop's own
//! position and history ([`Progress`], JSON bytes in `progress.json`). It is
//! written at the end of every epoch and when training is interrupted, and
//! removed when the run finishes.

use std::collections::HashMap;
use std::path::Path;

use ner_model::folder::ModelDir;

use ner_core::runs::EpochMetrics;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use crate::average::WeightAverage;
use crate::config::Pipeline;
use crate::optim::{Optimizer, OptimizerState};
use crate::{rng_state, TrainError};

/// Where the loop stands, and what it has seen so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub format_version: u32,
    /// The pipeline the run started with (`epochs` may change on resume).
    pub pipeline: Pipeline,
    /// SHA-256 of the training and validation batches and the vocabularies.
    pub inputs: Inputs,
    /// The epoch to run next or in progress (1-based).
    pub epoch: usize,
    /// Steps of `epoch` already taken; 0 at an epoch boundary.
    pub step: usize,
    /// `epoch`'s batch order once drawn (only when `step > 0`).
    pub order: Vec<usize>,
    /// The batch-order generator's state (after drawing `order`, if drawn).
    pub order_rng: u64,
    /// The learning rate the schedule has reached.
    pub lr: f64,
    /// Best validation score so far: (epoch, score).
    pub best: Option<(usize, f64)>,
    pub since_best: usize,
    /// Metrics of the finished epochs.
    pub history: Vec<EpochMetrics>,
    /// Training time spent before this checkpoint (for `max_minutes`).
    pub elapsed_seconds: f64,
    /// Sums over the steps of `epoch` taken so far.
    pub partial: PartialEpoch,
    pub optimizer_steps: i64,
    pub optimizer_lr: f64,
    pub average_steps: u64,
}

/// The fingerprints of a run's inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub train_sha256: String,
    pub valid_sha256: String,
    pub words_sha256: String,
    pub chars_sha256: String,
    pub tags_sha256: String,
    /// The vectors' keys (`None`: none).
    #[serde(default)]
    pub vectors_sha256: Option<String>,
}

/// Running sums inside an epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PartialEpoch {
    pub loss_sum: f64,
    pub correct: i64,
    pub counted: i64,
    pub forward_seconds: f64,
    pub backward_seconds: f64,
    pub optimizer_seconds: f64,
    pub seconds: f64,
}

/// The live state a checkpoint is taken from and restored into.
#[derive(Debug)]
pub struct Live<'a> {
    pub vs: &'a nn::VarStore,
    pub optimizer: &'a mut Optimizer,
    pub average: Option<&'a mut WeightAverage>,
}

/// Writes the folder's checkpoint (`resume.safetensors`) atomically: the
/// weights in `vs`, the optimizer's state, the weight average, libtorch's
/// RNG state and `progress`.
pub fn save(
    dir: &ModelDir,
    vs: &nn::VarStore,
    optimizer: &OptimizerState,
    average: Option<&WeightAverage>,
    progress: &Progress,
) -> Result<(), TrainError> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (name, var) in vs.variables() {
        tensors.push((format!("model.{name}"), var.to_device(Device::Cpu).detach()));
    }
    for (name, t) in &optimizer.buffers {
        tensors.push((format!("optimizer.{name}"), t.shallow_clone()));
    }
    if let Some(average) = average {
        for (i, t) in average.shadow().iter().enumerate() {
            tensors.push((format!("average.{i}"), t.to_device(Device::Cpu).detach()));
        }
    }
    tensors.push((
        "rng.cpu".into(),
        Tensor::from_slice(&rng_state::cpu_rng_state()?),
    ));
    let json = serde_json::to_vec(progress)
        .map_err(|e| TrainError::Internal(format!("the progress record: {e}")))?;
    tensors.push(("progress.json".into(), Tensor::from_slice(&json)));

    let path = dir.checkpoint();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir
        .root()
        .join(format!(".{name}.{}.tmp", std::process::id()));
    let written = Tensor::write_safetensors(&tensors, &tmp)
        .map_err(TrainError::torch("writing the checkpoint"))
        .and_then(|()| {
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| ner_core::Error::io(&tmp, e).into())
        })
        .and_then(|()| {
            std::fs::rename(&tmp, &path).map_err(|e| ner_core::Error::io(&path, e).into())
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A checkpoint read back: its progress and its tensors by name.
#[derive(Debug)]
pub struct Saved {
    pub progress: Progress,
    tensors: HashMap<String, Tensor>,
    path: std::path::PathBuf,
}

/// Reads the folder's checkpoint, if there is one.
pub fn load(dir: &ModelDir) -> Result<Option<Saved>, TrainError> {
    let path = dir.checkpoint();
    if !path.exists() {
        return Ok(None);
    }
    let bad = |message: String| TrainError::input(&path, message);
    let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&path)
        .map_err(|e| bad(format!("not a readable checkpoint: {e}")))?
        .into_iter()
        .collect();
    let json = tensors
        .get("progress.json")
        .ok_or_else(|| bad("not a ner-train checkpoint (no progress.json)".into()))?;
    let bytes = Vec::<u8>::try_from(json).map_err(TrainError::torch("reading the checkpoint"))?;
    let progress: Progress = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("unreadable progress record: {e}")))?;
    if progress.format_version != ner_core::schema::FORMAT_VERSION {
        return Err(bad(format!(
            "format version {}, this build reads version {}",
            progress.format_version,
            ner_core::schema::FORMAT_VERSION
        )));
    }
    Ok(Some(Saved {
        progress,
        tensors,
        path,
    }))
}

impl Saved {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses a checkpoint of another pipeline or other inputs, naming what
    /// differs. Only `train.epochs` may change between runs.
    pub fn check_matches(&self, pipeline: &Pipeline, inputs: &Inputs) -> Result<(), TrainError> {
        let mut saved = self.progress.pipeline.clone();
        saved.train.epochs = pipeline.train.epochs;
        let mismatch = |what: String| {
            TrainError::from(crate::InputError::OtherRun {
                path: self.path.clone(),
                what,
            })
        };
        if saved.model != pipeline.model {
            return Err(mismatch("another model section in its pipeline".into()));
        }
        if saved.train != pipeline.train {
            return Err(mismatch("another train section in its pipeline".into()));
        }
        let ours = &self.progress.inputs;
        for (name, a, b) in [
            ("training batches", &ours.train_sha256, &inputs.train_sha256),
            (
                "validation batches",
                &ours.valid_sha256,
                &inputs.valid_sha256,
            ),
            ("word vocabulary", &ours.words_sha256, &inputs.words_sha256),
            (
                "character vocabulary",
                &ours.chars_sha256,
                &inputs.chars_sha256,
            ),
            ("tag vocabulary", &ours.tags_sha256, &inputs.tags_sha256),
            (
                "pre-trained vectors",
                &ours.vectors_sha256.clone().unwrap_or_default(),
                &inputs.vectors_sha256.clone().unwrap_or_default(),
            ),
        ] {
            if a != b {
                return Err(mismatch(format!(
                    "other {name} (SHA-256 {} there, {} now)",
                    &a[..a.len().min(12)],
                    &b[..b.len().min(12)]
                )));
            }
        }
        Ok(())
    }

    /// Copies the saved weights, optimizer state, weight average and RNG
    /// state into the live run.
    pub fn restore(&self, live: &mut Live<'_>) -> Result<(), TrainError> {
        let bad = |message: String| TrainError::input(&self.path, message);
        let get = |name: &str| {
            self.tensors
                .get(name)
                .ok_or_else(|| bad(format!("has no tensor {name}")))
        };
        for (name, var) in live.vs.variables() {
            let saved = get(&format!("model.{name}"))?;
            if saved.size() != var.size() {
                return Err(bad(format!(
                    "model.{name} has shape {:?}, the model {:?}",
                    saved.size(),
                    var.size()
                )));
            }
            tch::no_grad(|| var.shallow_clone().copy_(saved));
        }
        let buffers = self
            .tensors
            .iter()
            .filter_map(|(name, t)| {
                name.strip_prefix("optimizer.")
                    .map(|n| (n.to_string(), t.shallow_clone()))
            })
            .collect();
        live.optimizer
            .load_state(&OptimizerState {
                steps: self.progress.optimizer_steps,
                lr: self.progress.optimizer_lr,
                buffers,
            })
            .map_err(|e| bad(e.to_string()))?;
        if let Some(average) = live.average.as_deref_mut() {
            let shadow = (0..average.shadow().len())
                .map(|i| get(&format!("average.{i}")).map(Tensor::shallow_clone))
                .collect::<Result<Vec<_>, _>>()?;
            average.restore(self.progress.average_steps, &shadow);
        }
        let rng = Vec::<u8>::try_from(get("rng.cpu")?.to_kind(Kind::Uint8))
            .map_err(TrainError::torch("reading the saved RNG state"))?;
        rng_state::set_cpu_rng_state(&rng)?;
        Ok(())
    }
}
