//! The training run: set-up (inputs checked, the folder locked, the model
//! and optimizer built, a checkpoint resumed), the epoch loop (schedules,
//! word dropout, steps, validation, best-epoch selection, early stopping),
//! and after every epoch the folder's files: weights, metrics, curves, the
//! model card and the checkpoint, each written atomically.

mod evaluate;
mod fault;
mod folder;
mod inputs;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ner_core::artifact::sha256_file;
use ner_core::rng::SplitMix64;
pub use ner_core::runs::{read_metrics, write_metrics, EpochMetrics};
use ner_core::schema::vectors::VectorsDir;
use ner_core::schema::vocab::VocabDir;
use ner_core::tables::TokenIds;
use ner_model::card::{ColumnCard, ModelCard, VectorsCard, Vocabularies};
use ner_model::folder::{ModelDir, Weights};
use tch::nn;
use tch::{Device, Tensor};

use crate::average::WeightAverage;
use crate::checkpoint::{self, Inputs, Live, PartialEpoch, Progress};
use crate::config::{OptimizerKind, Pipeline, Schedule, SelectBy, WordVectors};
use crate::data::{BatchTensors, EncodedSplit};
use crate::dropout::Masks;
use crate::optim::{clip_grad_norm, AdamConfig, Optimizer};
use crate::tagger::{drop_words, n_parameters, Mode, Tagger, TaggerSpec};
use crate::tagset::TagSet;
use crate::vectors::Pretrained;
use crate::TrainError;
pub use evaluate::evaluate;
use fault::Faults;

/// Refuses `model.word_vectors = "beside"` where a word's vector cannot be
/// told from its id: without vectors, without the extended vocabulary,
/// with static vectors (a training word's id would be its vector's) or
/// lower-cased words (a word id would stand for several spellings).
fn check_beside(
    pipeline: &Pipeline,
    vectors: bool,
    extended: bool,
    lowercase: bool,
) -> Result<(), TrainError> {
    if pipeline.model.word_vectors != WordVectors::Beside {
        return Ok(());
    }
    let why = if !vectors {
        "needs pre-trained vectors ([data] vectors, or --vectors)"
    } else if !extended || pipeline.data.static_vectors {
        "needs the extended vocabulary without static vectors ([data] extended_vocabulary, \
         static_vectors = false)"
    } else if lowercase {
        "needs words as they are spelt, not lower-cased ([data] lowercase = false)"
    } else {
        return Ok(());
    };
    Err(TrainError::Config(format!(
        "model.word_vectors = \"beside\" {why}"
    )))
}

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The pipeline's name (the model folder's name by default).
    pub name: String,
    pub pipeline: Pipeline,
    pub train: PathBuf,
    pub valid: PathBuf,
    /// The vocabularies the batches were encoded with (words, characters,
    /// tags); copied into the model folder.
    pub vocab: VocabDir,
    /// Pre-trained vectors (a `ner-vectors` folder): the training words'
    /// rows start from them, and with batches encoded with them
    /// (`ner-encode --vectors`) their rows give the other words their ids.
    pub vectors: Option<VectorsDir>,
    pub output_dir: PathBuf,
    pub device: Device,
    /// libtorch intra-op threads; `None` keeps libtorch's default.
    pub threads: Option<i32>,
    /// Draw a progress bar inside each epoch (only on a terminal).
    pub progress: bool,
    /// Continue from the folder's checkpoint when there is one.
    pub resume: bool,
    /// Set (by a signal handler) to stop after the current step, writing a
    /// resumable checkpoint.
    pub stop: Option<Arc<AtomicBool>>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub output_dir: PathBuf,
    pub n_parameters: i64,
    pub epochs: Vec<EpochMetrics>,
    pub best_epoch: usize,
}

/// Trains, validating and checkpointing after every epoch.
pub fn train(config: &Config) -> Result<Summary, TrainError> {
    let vocabs = Vocabularies::read_with_columns(&config.vocab, &config.pipeline.model.columns)?;
    let vectors = config.vectors.as_ref().map(Pretrained::read).transpose()?;
    let train_split = EncodedSplit::open(&config.train)?;
    let valid_split = EncodedSplit::open(&config.valid)?;
    let vocab_files = [
        config.vocab.words(),
        config.vocab.chars(),
        config.vocab.tags(),
    ];
    let encoded = inputs::check(
        &config.pipeline,
        &vocabs,
        [&vocab_files[0], &vocab_files[1], &vocab_files[2]],
        vectors.as_ref(),
        &train_split,
        &valid_split,
    )?;
    let dir = ModelDir::new(&config.output_dir);
    std::fs::create_dir_all(dir.root()).map_err(|e| ner_core::Error::io(dir.root(), e))?;
    let _lock = folder::lock(&dir)?;
    folder::remove_stale_temporaries(&dir)?;
    folder::copy_vocabularies(&config.vocab, &config.pipeline.model.columns, &dir)?;
    if let (Some(vectors), true) = (&vectors, encoded.extended) {
        folder::copy_vectors(&vectors.dir, &dir)?;
    }
    let mut run = Run::start(
        config,
        dir,
        vocabs,
        vectors,
        encoded,
        &train_split,
        &valid_split,
    )?;
    run.epochs()?;
    run.finish()
}

/// A run in progress: the model, its optimizer and where the loop stands.
struct Run<'a> {
    config: &'a Config,
    dir: ModelDir,
    vs: nn::VarStore,
    tagger: Tagger,
    params: Vec<Tensor>,
    optimizer: Optimizer,
    average: Option<WeightAverage>,
    /// Training words seen once (`[vocab]` booleans), for word dropout.
    singletons: Option<Tensor>,
    tagset: TagSet,
    card: ModelCard,
    train_batches: Vec<BatchTensors>,
    valid_batches: Vec<BatchTensors>,
    faults: Faults,
    progress: Progress,
    /// The batch-order generator.
    rng: SplitMix64,
    session_started: Instant,
    elapsed_before: f64,
}

impl<'a> Run<'a> {
    fn start(
        config: &'a Config,
        dir: ModelDir,
        vocabs: Vocabularies,
        vectors: Option<Pretrained>,
        encoded: inputs::Encoded,
        train_split: &EncodedSplit,
        valid_split: &EncodedSplit,
    ) -> Result<Run<'a>, TrainError> {
        let pipeline = &config.pipeline;
        if let Some(threads) = config.threads {
            tch::set_num_threads(threads);
        }
        let seed = pipeline.train.seed;
        tch::manual_seed(seed as i64);
        let device = config.device;
        let vs = nn::VarStore::new(device);
        let tagset = vocabs.tag_set(&pipeline.model)?;
        let mut spec = TaggerSpec::new(&vocabs, &tagset);
        let beside = pipeline.model.word_vectors == WordVectors::Beside;
        if let (Some(vectors), true) = (&vectors, encoded.extended) {
            spec.n_vector_rows = vectors.rows();
            spec.vector_dim = vectors.dim();
            if beside {
                let ids = TokenIds::new(&vocabs.words, &vocabs.chars, false, None)
                    .with_vectors(&vectors.keys, vocabs.words.len() as i64);
                spec.word_vector_rows = TaggerSpec::word_vector_rows(&vocabs.words, &ids);
            }
        }
        check_beside(
            pipeline,
            vectors.is_some(),
            encoded.extended,
            vocabs.lowercase(),
        )?;
        let mut tagger = Tagger::with_spec(&vs.root(), &pipeline.model, &spec);
        if let Some(vectors) = &vectors {
            let table = tagger.word_embedding().ok_or_else(|| {
                TrainError::Config(format!(
                    "--vectors {} needs a pipeline with model.input = \"embedding\"",
                    vectors.dir.root().display()
                ))
            })?;
            if beside {
                let found = spec.word_vector_rows.iter().filter(|&&r| r >= 0).count();
                println!(
                    "{}: every word reads its vector beside its own row; {found} of {} \
                     vocabulary words have one",
                    vectors.dir.root().display(),
                    vocabs.words.len().saturating_sub(2)
                );
            } else {
                let coverage = vectors.start_rows(table, &vocabs.words)?;
                println!("{coverage}");
            }
            if let Some(rows) = tagger.vector_rows() {
                tch::no_grad(|| rows.shallow_clone().copy_(&vectors.matrix));
            }
        }
        let n_params = n_parameters(&vs);
        let params = vs.trainable_variables();
        let mut optimizer = match pipeline.train.optimizer {
            OptimizerKind::Adam => {
                Optimizer::adam(vs.trainable_variables(), AdamConfig::new(pipeline.train.lr))
            }
            OptimizerKind::Sgd => Optimizer::sgd(
                vs.trainable_variables(),
                pipeline.train.lr,
                pipeline.train.momentum,
            ),
        };
        // The fused Adam applies sparse table gradients without ever building
        // the dense, vocabulary-sized zero gradient.
        tagger.set_sparse_gradients(optimizer.is_fused());
        optimizer.zero_grad();
        let average = (pipeline.train.average > 0.0)
            .then(|| WeightAverage::new(&params, pipeline.train.average));
        // Word dropout: training words seen once are sometimes read as <UNK>
        // (never the vectors' rows past them).
        let singletons = (pipeline.train.unk_replace > 0.0).then(|| {
            let flags: Vec<bool> = vocabs
                .words
                .entries
                .iter()
                .enumerate()
                .map(|(id, (_, count))| id > 1 && *count == 1)
                .chain(std::iter::repeat_n(false, spec.n_vector_rows as usize))
                .collect();
            Tensor::from_slice(&flags).to_device(device)
        });

        let mut train_batches = load(train_split, device)?;
        // The loss sees the model's tags; validation scores the data's.
        for batch in &mut train_batches {
            batch.tag_ids = crate::tagset::batch_to_model(&tagset, &batch.tag_ids, &batch.lengths)
                .map_err(|e| TrainError::input(&config.train, e.to_string()))?;
        }
        let valid_batches = load(valid_split, device)?;
        let inputs = Inputs {
            train_sha256: sha256_file(&config.train)?,
            valid_sha256: sha256_file(&config.valid)?,
            words_sha256: vocabs.words_sha.clone(),
            chars_sha256: vocabs.chars_sha.clone(),
            tags_sha256: vocabs.tags_sha.clone(),
            vectors_sha256: vectors
                .as_ref()
                .filter(|_| encoded.extended)
                .map(|v| v.keys_sha256.clone()),
        };
        let mut progress = Progress {
            format_version: ner_core::schema::FORMAT_VERSION,
            pipeline: pipeline.clone(),
            inputs: inputs.clone(),
            epoch: 1,
            step: 0,
            order: Vec::new(),
            order_rng: seed,
            lr: pipeline.train.lr,
            best: None,
            since_best: 0,
            history: Vec::new(),
            elapsed_seconds: 0.0,
            partial: PartialEpoch::default(),
            optimizer_steps: 0,
            optimizer_lr: pipeline.train.lr,
            average_steps: 0,
        };
        let mut average = average;
        let resume_path = dir.checkpoint();
        if config.resume {
            match checkpoint::load(&dir)? {
                Some(saved) => {
                    saved.check_matches(pipeline, &inputs)?;
                    saved.restore(&mut Live {
                        vs: &vs,
                        optimizer: &mut optimizer,
                        average: average.as_mut(),
                    })?;
                    progress = saved.progress;
                    progress.pipeline.train.epochs = pipeline.train.epochs;
                    println!(
                        "resuming from {}: epoch {}, step {}",
                        resume_path.display(),
                        progress.epoch,
                        progress.step
                    );
                }
                None => println!(
                    "no checkpoint {} to resume from: starting from scratch",
                    resume_path.display()
                ),
            }
        } else if resume_path.exists() {
            println!(
                "note: removing {}, left by an interrupted run (--resume continues such a run)",
                resume_path.display()
            );
            std::fs::remove_file(&resume_path).map_err(|e| ner_core::Error::io(&resume_path, e))?;
        }
        let faults = Faults::from_env()?;

        let sentences = |batches: &[BatchTensors]| -> usize {
            batches.iter().map(|b| b.sentence_ids.len()).sum()
        };
        println!(
            "{}: {} trainable parameters, {} training batches ({} sentences), {} validation batches ({} sentences), {} threads",
            config.name,
            n_params,
            train_batches.len(),
            sentences(&train_batches),
            valid_batches.len(),
            sentences(&valid_batches),
            tch::get_num_threads()
        );
        println!("epoch  train_loss  train_acc  val_acc  val_macro_f1  val_entity_f1  seconds");
        for m in &progress.history {
            print_metrics(m);
        }
        let card = ModelCard {
            format_version: ner_core::schema::FORMAT_VERSION,
            created_by: ner_core::created_by!().to_string(),
            name: config.name.clone(),
            pipeline: pipeline.clone(),
            n_words: spec.n_words,
            n_tags: spec.tags.len() as i64,
            tags: tagset.data_tags().to_vec(),
            scheme: tagset.data_scheme().to_string(),
            lowercase: vocabs.lowercase().to_string(),
            words_file: config.vocab.words().display().to_string(),
            words_sha256: vocabs.words_sha.clone(),
            tags_file: config.vocab.tags().display().to_string(),
            tags_sha256: vocabs.tags_sha.clone(),
            chars_file: config.vocab.chars().display().to_string(),
            chars_sha256: vocabs.chars_sha.clone(),
            max_word_chars: encoded.max_word_chars,
            vectors: vectors
                .as_ref()
                .filter(|_| encoded.extended)
                .map(|v| VectorsCard {
                    keys_file: v.dir.keys().display().to_string(),
                    keys_sha256: v.keys_sha256.clone(),
                    matrix_sha256: v.matrix_sha256.clone(),
                    rows: v.rows(),
                    dim: v.dim(),
                    static_vectors: pipeline.data.static_vectors,
                }),
            columns: config
                .pipeline
                .model
                .columns
                .iter()
                .map(|name| {
                    let path = config.vocab.column(name);
                    Ok(ColumnCard {
                        name: name.clone(),
                        file: path.display().to_string(),
                        sha256: sha256_file(&path)?,
                    })
                })
                .collect::<Result<_, TrainError>>()?,
            train_file: config.train.display().to_string(),
            valid_file: config.valid.display().to_string(),
            n_parameters: n_params,
            epochs_done: 0,
            best_epoch: 0,
        };
        Ok(Run {
            config,
            dir,
            vs,
            tagger,
            params,
            optimizer,
            average,
            singletons,
            tagset,
            card,
            train_batches,
            valid_batches,
            faults,
            rng: SplitMix64::from_state(progress.order_rng),
            elapsed_before: progress.elapsed_seconds,
            progress,
            session_started: Instant::now(),
        })
    }

    /// Training time so far, sessions before this one included.
    fn total_seconds(&self) -> f64 {
        self.elapsed_before + self.session_started.elapsed().as_secs_f64()
    }

    fn finished_early(&self) -> bool {
        let patience = self.config.pipeline.train.patience;
        patience > 0 && self.progress.since_best >= patience
    }

    /// Every remaining epoch, until the last, early stopping or the time limit.
    fn epochs(&mut self) -> Result<(), TrainError> {
        let config = self.config;
        let train = &config.pipeline.train;
        while self.progress.epoch <= train.epochs && !self.finished_early() {
            if self.progress.order.is_empty() && !self.begin_epoch() {
                break;
            }
            let started = Instant::now();
            self.steps(started)?;
            self.end_epoch(started)?;
            if self.finished_early() {
                println!(
                    "early stop: no better validation score for {} epochs",
                    train.patience
                );
            }
        }
        Ok(())
    }

    /// A new epoch's learning rate and batch order; false when another epoch
    /// would pass `max_minutes`.
    fn begin_epoch(&mut self) -> bool {
        let config = self.config;
        let train = &config.pipeline.train;
        let epoch = self.progress.epoch;
        let minutes = self.total_seconds() / 60.0;
        if train.max_minutes > 0.0 && epoch > 1 {
            let per_epoch = minutes / (epoch - 1) as f64;
            if minutes + per_epoch > train.max_minutes {
                println!(
                    "time limit: {minutes:.1} min spent, another epoch would pass max_minutes = {}",
                    train.max_minutes
                );
                return false;
            }
        }
        if let Some(lr) = train.epoch_lr(epoch) {
            self.progress.lr = lr;
        }
        self.progress.order = (0..self.train_batches.len()).collect();
        if train.shuffle {
            self.rng.shuffle(&mut self.progress.order);
        }
        self.progress.order_rng = self.rng.state();
        self.progress.partial = PartialEpoch::default();
        true
    }

    /// The epoch's remaining steps; a raised stop flag writes the checkpoint
    /// and ends the run as interrupted.
    fn steps(&mut self, started: Instant) -> Result<(), TrainError> {
        let epoch = self.progress.epoch;
        let config = self.config;
        let train = &config.pipeline.train;
        self.optimizer.set_lr(self.progress.lr);
        let order = self.progress.order.clone();
        let bar = progress_bar(self.config.progress, order.len(), epoch);
        if let Some(bar) = &bar {
            bar.set_position(self.progress.step as u64);
        }
        let masks = Masks::libtorch();
        for (step, &b) in order.iter().enumerate().skip(self.progress.step) {
            if self.faults.stop == Some((epoch, step)) {
                if let Some(stop) = &self.config.stop {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            if self
                .config
                .stop
                .as_ref()
                .is_some_and(|stop| stop.load(Ordering::SeqCst))
            {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                self.progress.step = step;
                self.progress.partial.seconds += started.elapsed().as_secs_f64();
                self.progress.elapsed_seconds = self.total_seconds();
                self.save_checkpoint()?;
                return Err(TrainError::Interrupted {
                    epoch,
                    step,
                    steps: order.len(),
                    checkpoint: self.dir.checkpoint(),
                });
            }
            let batch = &self.train_batches[b];
            let t0 = Instant::now();
            let dropped = self
                .singletons
                .as_ref()
                .map(|single| drop_words(&batch.word_ids, single, train.unk_replace));
            let pass = self.tagger.forward(
                batch,
                Mode::Train {
                    masks: &masks,
                    word_ids: dropped.as_ref(),
                },
            );
            let mut loss = self.tagger.loss(&pass.emissions, batch);
            if self.faults.nan == Some((epoch, step + 1)) {
                loss *= f64::NAN;
            }
            // Checked before the update, so the weights in memory stay finite too.
            let loss_value = loss.double_value(&[]);
            if !loss_value.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step: step + 1,
                });
            }
            let t1 = Instant::now();
            if !self.optimizer.is_fused() {
                self.optimizer.zero_grad();
            }
            let t2 = Instant::now();
            pass.tape.backward(&loss);
            let t3 = Instant::now();
            if train.clip > 0.0 {
                clip_grad_norm(&self.params, train.clip);
            }
            self.optimizer.step();
            if let Some(average) = &mut self.average {
                average.update();
            }
            let t4 = Instant::now();
            let correct = tch::no_grad(|| self.tagger.correct_tokens(&pass.emissions, batch))?;
            let partial = &mut self.progress.partial;
            partial.forward_seconds += (t1 - t0).as_secs_f64();
            partial.backward_seconds += (t3 - t2).as_secs_f64();
            partial.optimizer_seconds += (t2 - t1).as_secs_f64() + (t4 - t3).as_secs_f64();
            partial.loss_sum += loss_value;
            partial.correct += correct;
            partial.counted += batch.n_tokens();
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok(())
    }

    /// Validation, the best epoch, the schedule, and the folder's files.
    fn end_epoch(&mut self, started: Instant) -> Result<(), TrainError> {
        let epoch = self.progress.epoch;
        let config = self.config;
        let train = &config.pipeline.train;
        let partial = self.progress.partial;
        let steps = self.progress.order.len();
        let train_seconds = partial.seconds + started.elapsed().as_secs_f64();
        // Validation and checkpoints see the averaged weights; swapped back below.
        if let Some(average) = &mut self.average {
            average.swap();
        }
        let scores = evaluate(&self.tagger, &self.valid_batches, &self.tagset)?;
        let metrics = EpochMetrics {
            epoch,
            train_loss: partial.loss_sum / steps.max(1) as f64,
            train_acc: counted_ratio(partial.correct, partial.counted),
            val_acc: scores.accuracy(),
            val_macro_f1: scores.token_macro_f1(),
            val_entity_f1: scores.entity_f1(),
            epoch_seconds: partial.seconds + started.elapsed().as_secs_f64(),
            train_seconds,
            forward_seconds: partial.forward_seconds,
            backward_seconds: partial.backward_seconds,
            optimizer_seconds: partial.optimizer_seconds,
        };
        print_metrics(&metrics);
        let score = match train.select_by {
            SelectBy::EntityF1 => metrics.val_entity_f1,
            SelectBy::MacroF1 => metrics.val_macro_f1,
        };
        self.progress.history.push(metrics);
        folder::save_weights(&self.vs, &self.dir.weights(Weights::Last))?;
        if self.progress.best.is_none_or(|(_, s)| score > s) {
            self.progress.best = Some((epoch, score));
            self.progress.since_best = 0;
            folder::save_weights(&self.vs, &self.dir.weights(Weights::Best))?;
        } else {
            self.progress.since_best += 1;
            if train.schedule == Schedule::Plateau
                && self
                    .progress
                    .since_best
                    .is_multiple_of(train.plateau_patience.max(1))
            {
                self.progress.lr *= train.plateau_factor;
                println!("       learning rate now {:.3e}", self.progress.lr);
            }
        }
        if let Some(average) = &mut self.average {
            average.swap();
        }
        write_metrics(&self.dir.metrics(), &self.progress.history)?;
        // The figure is a convenience: a missing font must not stop training.
        if let Err(err) = ner_plot::curves::training(
            &self.progress.history,
            &self.config.name,
            &self.dir.curves(),
        ) {
            eprintln!("warning: {}", ner_core::cli::chain(&err));
        }
        self.card.epochs_done = epoch;
        self.card.best_epoch = self.progress.best.map_or(0, |(e, _)| e);
        self.card.write(&self.dir)?;
        self.progress.epoch += 1;
        self.progress.step = 0;
        self.progress.order.clear();
        self.progress.partial = PartialEpoch::default();
        self.progress.elapsed_seconds = self.total_seconds();
        self.save_checkpoint()
    }

    /// Records the optimizer's and the average's counters in the progress
    /// and writes the resumable checkpoint.
    fn save_checkpoint(&mut self) -> Result<(), TrainError> {
        let state = self.optimizer.state();
        self.progress.optimizer_steps = state.steps;
        self.progress.optimizer_lr = state.lr;
        self.progress.average_steps = self.average.as_ref().map_or(0, |a| a.steps());
        checkpoint::save(
            &self.dir,
            &self.vs,
            &state,
            self.average.as_ref(),
            &self.progress,
        )
    }

    /// The run is complete: nothing left to resume.
    fn finish(self) -> Result<Summary, TrainError> {
        let resume_path = self.dir.checkpoint();
        if resume_path.exists() {
            std::fs::remove_file(&resume_path).map_err(|e| ner_core::Error::io(&resume_path, e))?;
        }
        let history = self.progress.history;
        let best = self.progress.best;
        let total: f64 = history.iter().map(|m| m.epoch_seconds).sum();
        println!(
            "total {:.1} s, mean {:.1} s per epoch; best epoch {} ({:?} {:.4}); weights in {}",
            total,
            total / history.len().max(1) as f64,
            best.map_or(0, |(e, _)| e),
            self.config.pipeline.train.select_by,
            best.map_or(0.0, |(_, s)| s),
            self.config.output_dir.display()
        );
        Ok(Summary {
            output_dir: self.config.output_dir.clone(),
            n_parameters: self.card.n_parameters,
            best_epoch: best.map_or(0, |(e, _)| e),
            epochs: history,
        })
    }
}

fn print_metrics(m: &EpochMetrics) {
    println!(
        "{:>5}  {:>10.4}  {:>9.4}  {:>7.4}  {:>12.4}  {:>13.4}  {:>7.1}",
        m.epoch,
        m.train_loss,
        m.train_acc,
        m.val_acc,
        m.val_macro_f1,
        m.val_entity_f1,
        m.epoch_seconds
    );
}

fn counted_ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn load(split: &EncodedSplit, device: Device) -> Result<Vec<BatchTensors>, TrainError> {
    Ok(split.iter(device).collect::<Result<Vec<_>, _>>()?)
}

fn progress_bar(enabled: bool, len: usize, epoch: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "epoch {msg} [{bar:40}] {pos}/{len} batches {elapsed_precise} (eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(epoch.to_string());
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_beside_the_words_need_what_tells_a_word_from_its_vector() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.toml");
        let pipeline = |model: &str, data: &str| -> Pipeline {
            std::fs::write(
                &path,
                format!(
                    "[model]\ncell = \"lstm\"\nbidirectional = true\nlayers = 1\nhidden = 4\n\
                 input = \"embedding\"\nembedding_dim = 4\n{model}\n\
                 [train]\nepochs = 1\nlr = 0.1\nbatch_size = 2\n{data}"
                ),
            )
            .expect("write");
            Pipeline::read(&path).expect("pipeline")
        };
        let beside = pipeline("word_vectors = \"beside\"", "");
        let error = |p: &Pipeline, vectors, extended, lowercase| {
            check_beside(p, vectors, extended, lowercase)
                .expect_err("refused")
                .to_string()
        };
        assert!(error(&beside, false, false, false).contains("needs pre-trained vectors"));
        assert!(error(&beside, true, false, false).contains("needs the extended vocabulary"));
        assert!(error(&beside, true, true, true).contains("not lower-cased"));
        let fixed = pipeline(
            "word_vectors = \"beside\"",
            "[data]\nvectors = \"md\"\nstatic_vectors = true\n",
        );
        assert!(error(&fixed, true, true, false).contains("static_vectors = false"));
        assert!(check_beside(&beside, true, true, false).is_ok());
        // The default reads vectors in place of rows and needs none of it.
        assert!(check_beside(&pipeline("", ""), false, false, true).is_ok());
    }
}
