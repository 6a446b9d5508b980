//! The training loop: Adam or SGD, gradient clipping, learning-rate
//! schedules, word dropout, early stopping, per-epoch metrics, atomic
//! checkpoints.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ner_core::artifact::{sha256_file, write_atomic};
use ner_core::metrics::Scores;
use ner_core::rng::SplitMix64;
pub use ner_core::runs::{read_metrics, write_metrics, EpochMetrics};
use ner_core::schema::keys;
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::average::WeightAverage;
use crate::checkpoint::{self, Inputs, Live, PartialEpoch, Progress, RESUME_FILE};
use crate::config::{OptimizerKind, Pipeline, Schedule, SelectBy};
use crate::data::{BatchTensors, EncodedSplit};
use crate::embeddings;
use crate::model::{n_parameters, Tagger, TaggerSpec};
use crate::optim::{clip_grad_norm, AdamConfig, Optimizer};
use crate::plot;
use crate::tagset::TagSet;
use crate::TrainError;

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The pipeline's name (the model folder's name by default).
    pub name: String,
    pub pipeline: Pipeline,
    pub train: PathBuf,
    pub valid: PathBuf,
    pub words: PathBuf,
    pub tags: PathBuf,
    /// The character vocabulary (character features and casing use it).
    pub chars: PathBuf,
    /// Pre-trained word vectors (GloVe / word2vec text) to start from.
    pub embeddings: Option<PathBuf>,
    pub output_dir: PathBuf,
    pub device: Device,
    /// libtorch intra-op threads; `None` keeps libtorch's default.
    pub threads: Option<i32>,
    /// Draw a progress bar inside each epoch (only on a terminal).
    pub progress: bool,
    /// Continue from `output_dir/resume.safetensors` when there is one.
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

pub use ner_core::runs::METRICS_FILE;
pub use ner_model::card::{ModelCard, Vocabularies, BEST_FILE, CONFIG_FILE, WEIGHTS_FILE};
pub const CURVES_FILE: &str = "curves.png";
/// Held while a run trains into the folder.
pub const LOCK_FILE: &str = "train.lock";

/// Trains, validating and checkpointing after every epoch.
pub fn train(config: &Config) -> Result<Summary, TrainError> {
    let vocabs = Vocabularies::read(&config.words, &config.chars, &config.tags)?;
    let train_split = EncodedSplit::open(&config.train)?;
    let valid_split = EncodedSplit::open(&config.valid)?;
    for split in [&train_split, &valid_split] {
        check_encoded_with(split, &config.words, &vocabs.words_sha, keys::WORDS_SHA256)?;
        check_encoded_with(split, &config.chars, &vocabs.chars_sha, keys::CHARS_SHA256)?;
        check_encoded_with(split, &config.tags, &vocabs.tags_sha, keys::TAGS_SHA256)?;
    }
    let meta = train_split.file().metadata();
    let batch_size: usize = meta.parse(&config.train, keys::BATCH_SIZE)?;
    let pipeline = &config.pipeline;
    if batch_size != pipeline.train.batch_size {
        return Err(TrainError::Mismatch(format!(
            "{} was encoded in batches of {batch_size}, the pipeline asks for {}; \
             re-encode with BATCH_SIZE={}",
            config.train.display(),
            pipeline.train.batch_size,
            pipeline.train.batch_size
        )));
    }
    if let Some(order) = &pipeline.train.batch_order {
        let encoded = meta.require(&config.train, keys::ORDER)?;
        if encoded != order {
            return Err(TrainError::Mismatch(format!(
                "{} was encoded in '{encoded}' order, the pipeline asks for '{order}'; \
                 re-encode it with --order {order} (make does this for you)",
                config.train.display()
            )));
        }
    }
    if let Some(wanted) = pipeline.data.lowercase {
        let built = vocabs.words.metadata.get(keys::LOWERCASE) == Some("true");
        if built != wanted {
            return Err(TrainError::Mismatch(format!(
                "the pipeline asks for {} words ([data] lowercase = {wanted}), but {} was built {} --lowercase; `make train` builds the right vocabulary ({}) for it",
                if wanted { "lower-cased" } else { "case-sensitive" },
                config.words.display(),
                if built { "with" } else { "without" },
                if wanted { "data/lower/" } else { "data/" },
            )));
        }
    }
    let max_word_chars: Option<usize> = meta
        .get(keys::MAX_WORD_CHARS)
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0);

    std::fs::create_dir_all(&config.output_dir)
        .map_err(|e| ner_core::Error::io(&config.output_dir, e))?;
    let _lock = lock_model_dir(&config.output_dir)?;
    remove_stale_temporaries(&config.output_dir)?;
    if let Some(threads) = config.threads {
        tch::set_num_threads(threads);
    }
    let seed = pipeline.train.seed;
    tch::manual_seed(seed as i64);
    let device = config.device;
    let vs = nn::VarStore::new(device);
    let tagset = vocabs.tag_set(&pipeline.model)?;
    let spec = TaggerSpec::new(&vocabs, &tagset);
    let n_words = spec.n_words;
    let n_tags = spec.tags.len() as i64;
    let mut tagger = Tagger::with_spec(&vs.root(), &pipeline.model, &spec);
    if let Some(path) = &config.embeddings {
        let table = tagger.word_embedding().ok_or_else(|| {
            TrainError::Mismatch(format!(
                "--embeddings {} needs a pipeline with model.input = \"embedding\"",
                path.display()
            ))
        })?;
        let coverage = embeddings::load_into(path, table, &vocabs.words)?;
        println!("{coverage}");
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
    let mut average =
        (pipeline.train.average > 0.0).then(|| WeightAverage::new(&params, pipeline.train.average));
    // Word dropout: training words seen once are sometimes read as <UNK>.
    let singletons = (pipeline.train.unk_replace > 0.0).then(|| {
        let flags: Vec<bool> = vocabs
            .words
            .entries
            .iter()
            .enumerate()
            .map(|(id, (_, count))| id > 1 && *count == 1)
            .collect();
        Tensor::from_slice(&flags).to_device(device)
    });

    let mut train_batches = load(&train_split, device)?;
    // The loss sees the model's tags; validation scores the data's.
    for batch in &mut train_batches {
        batch.tag_ids = crate::tagset::batch_to_model(&tagset, &batch.tag_ids, &batch.lengths)
            .map_err(|e| TrainError::Mismatch(format!("{}: {e}", config.train.display())))?;
    }
    let valid_batches = load(&valid_split, device)?;
    let inputs = Inputs {
        train_sha256: sha256_file(&config.train)?,
        valid_sha256: sha256_file(&config.valid)?,
        words_sha256: vocabs.words_sha.clone(),
        chars_sha256: vocabs.chars_sha.clone(),
        tags_sha256: vocabs.tags_sha.clone(),
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
    let resume_path = config.output_dir.join(RESUME_FILE);
    if config.resume {
        match checkpoint::load(&config.output_dir)? {
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
    let fault = injected_fault("NER_TRAIN_INJECT_NAN")?;
    let stop_at = injected_fault("NER_TRAIN_INJECT_STOP")?;

    let sentences =
        |batches: &[BatchTensors]| -> usize { batches.iter().map(|b| b.sentence_ids.len()).sum() };
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
    let mut rng = SplitMix64::from_state(progress.order_rng);
    let session_started = Instant::now();
    let elapsed_before = progress.elapsed_seconds;
    let total_seconds = || elapsed_before + session_started.elapsed().as_secs_f64();
    let finished_early =
        |p: &Progress| pipeline.train.patience > 0 && p.since_best >= pipeline.train.patience;
    while progress.epoch <= pipeline.train.epochs && !finished_early(&progress) {
        let epoch = progress.epoch;
        if progress.order.is_empty() {
            let minutes = total_seconds() / 60.0;
            if pipeline.train.max_minutes > 0.0 && epoch > 1 {
                let per_epoch = minutes / (epoch - 1) as f64;
                if minutes + per_epoch > pipeline.train.max_minutes {
                    println!(
                        "time limit: {minutes:.1} min spent, another epoch would pass max_minutes = {}",
                        pipeline.train.max_minutes
                    );
                    break;
                }
            }
            if pipeline.train.schedule == Schedule::Decay {
                progress.lr =
                    pipeline.train.lr / (1.0 + pipeline.train.lr_decay * (epoch - 1) as f64);
            }
            progress.order = (0..train_batches.len()).collect();
            if pipeline.train.shuffle {
                rng.shuffle(&mut progress.order);
            }
            progress.order_rng = rng.state();
            progress.partial = PartialEpoch::default();
        }
        optimizer.set_lr(progress.lr);
        let started = Instant::now();
        let order = progress.order.clone();
        let bar = progress_bar(config.progress, order.len(), epoch);
        if let Some(bar) = &bar {
            bar.set_position(progress.step as u64);
        }
        for (step, &b) in order.iter().enumerate().skip(progress.step) {
            if stop_at == Some((epoch, step)) {
                if let Some(stop) = &config.stop {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            if config
                .stop
                .as_ref()
                .is_some_and(|stop| stop.load(Ordering::SeqCst))
            {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                progress.step = step;
                progress.partial.seconds += started.elapsed().as_secs_f64();
                progress.elapsed_seconds = total_seconds();
                save_checkpoint(config, &vs, &optimizer, average.as_mut(), &mut progress)?;
                return Err(TrainError::Interrupted {
                    epoch,
                    step,
                    steps: order.len(),
                    checkpoint: resume_path,
                });
            }
            let batch = &train_batches[b];
            let t0 = Instant::now();
            let dropped = singletons.as_ref().map(|single| {
                let is_single = single
                    .index_select(0, &batch.word_ids.view([-1]))
                    .view(batch.word_ids.size().as_slice());
                let coin = Tensor::rand(batch.word_ids.size(), (Kind::Float, device))
                    .lt(pipeline.train.unk_replace);
                batch.word_ids.where_self(
                    &is_single.logical_and(&coin).logical_not(),
                    &batch
                        .word_ids
                        .full_like(i64::from(ner_core::schema::vocab::UNK_ID)),
                )
            });
            let emissions = tagger.emissions(batch, dropped.as_ref(), true);
            let mut loss = tagger.loss(&emissions, batch);
            if fault == Some((epoch, step + 1)) {
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
            if !optimizer.is_fused() {
                optimizer.zero_grad();
            }
            let t2 = Instant::now();
            tagger.backward(&loss);
            let t3 = Instant::now();
            if pipeline.train.clip > 0.0 {
                clip_grad_norm(&params, pipeline.train.clip);
            }
            optimizer.step();
            if let Some(average) = &mut average {
                average.update();
            }
            let t4 = Instant::now();
            let partial = &mut progress.partial;
            partial.forward_seconds += (t1 - t0).as_secs_f64();
            partial.backward_seconds += (t3 - t2).as_secs_f64();
            partial.optimizer_seconds += (t2 - t1).as_secs_f64() + (t4 - t3).as_secs_f64();
            partial.loss_sum += loss_value;
            partial.correct += tch::no_grad(|| tagger.correct_tokens(&emissions, batch))
                .map_err(TrainError::Torch)?;
            partial.counted += batch.n_tokens();
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let partial = progress.partial;
        let train_seconds = partial.seconds + started.elapsed().as_secs_f64();
        // Validation and checkpoints see the averaged weights; swapped back below.
        if let Some(average) = &mut average {
            average.swap();
        }
        let scores = evaluate(&tagger, &valid_batches, &tagset)?;
        let metrics = EpochMetrics {
            epoch,
            train_loss: partial.loss_sum / order.len().max(1) as f64,
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
        let score = match pipeline.train.select_by {
            SelectBy::EntityF1 => metrics.val_entity_f1,
            SelectBy::MacroF1 => metrics.val_macro_f1,
        };
        progress.history.push(metrics);
        save_weights(&vs, &config.output_dir.join(WEIGHTS_FILE))?;
        if progress.best.is_none_or(|(_, s)| score > s) {
            progress.best = Some((epoch, score));
            progress.since_best = 0;
            save_weights(&vs, &config.output_dir.join(BEST_FILE))?;
        } else {
            progress.since_best += 1;
            if pipeline.train.schedule == Schedule::Plateau
                && progress
                    .since_best
                    .is_multiple_of(pipeline.train.plateau_patience.max(1))
            {
                progress.lr *= pipeline.train.plateau_factor;
                println!("       learning rate now {:.3e}", progress.lr);
            }
        }
        if let Some(average) = &mut average {
            average.swap();
        }
        write_metrics(&config.output_dir.join(METRICS_FILE), &progress.history)?;
        // The figure is a convenience: a missing font must not stop training.
        if let Err(err) = plot::curves(
            &progress.history,
            &config.name,
            &config.output_dir.join(CURVES_FILE),
        ) {
            eprintln!("warning: {err}");
        }
        let model_file = ModelCard {
            format_version: ner_core::schema::FORMAT_VERSION,
            created_by: ner_core::created_by!().to_string(),
            name: config.name.clone(),
            pipeline: pipeline.clone(),
            n_words,
            n_tags,
            tags: tagset.data_tags().to_vec(),
            scheme: tagset.data_scheme().to_string(),
            lowercase: vocabs
                .words
                .metadata
                .get(keys::LOWERCASE)
                .unwrap_or("false")
                .to_string(),
            words_file: config.words.display().to_string(),
            words_sha256: vocabs.words_sha.clone(),
            tags_file: config.tags.display().to_string(),
            tags_sha256: vocabs.tags_sha.clone(),
            chars_file: config.chars.display().to_string(),
            chars_sha256: vocabs.chars_sha.clone(),
            max_word_chars,
            train_file: config.train.display().to_string(),
            valid_file: config.valid.display().to_string(),
            n_parameters: n_params,
            epochs_done: epoch,
            best_epoch: progress.best.map_or(0, |(e, _)| e),
        };
        let json = serde_json::to_vec_pretty(&model_file)
            .map_err(|e| TrainError::Mismatch(e.to_string()))?;
        write_atomic(&config.output_dir.join(CONFIG_FILE), &json)?;
        progress.epoch += 1;
        progress.step = 0;
        progress.order.clear();
        progress.partial = PartialEpoch::default();
        progress.elapsed_seconds = total_seconds();
        save_checkpoint(config, &vs, &optimizer, average.as_mut(), &mut progress)?;
        if finished_early(&progress) {
            println!(
                "early stop: no better validation score for {} epochs",
                pipeline.train.patience
            );
        }
    }
    // The run is complete: nothing left to resume.
    if resume_path.exists() {
        std::fs::remove_file(&resume_path).map_err(|e| ner_core::Error::io(&resume_path, e))?;
    }
    let history = progress.history;
    let best = progress.best;
    let total: f64 = history.iter().map(|m| m.epoch_seconds).sum();
    println!(
        "total {:.1} s, mean {:.1} s per epoch; best epoch {} ({:?} {:.4}); weights in {}",
        total,
        total / history.len().max(1) as f64,
        best.map_or(0, |(e, _)| e),
        pipeline.train.select_by,
        best.map_or(0.0, |(_, s)| s),
        config.output_dir.display()
    );
    Ok(Summary {
        output_dir: config.output_dir.clone(),
        n_parameters: n_params,
        best_epoch: best.map_or(0, |(e, _)| e),
        epochs: history,
    })
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

/// Records the optimizer's and the average's counters in `progress` and
/// writes the resumable checkpoint.
fn save_checkpoint(
    config: &Config,
    vs: &nn::VarStore,
    optimizer: &Optimizer,
    average: Option<&mut WeightAverage>,
    progress: &mut Progress,
) -> Result<(), TrainError> {
    let state = optimizer.state();
    progress.optimizer_steps = state.steps;
    progress.optimizer_lr = state.lr;
    progress.average_steps = average.as_ref().map_or(0, |a| a.steps());
    checkpoint::save(&config.output_dir, vs, &state, average.as_deref(), progress)
}

/// Fault injection for tests, `EPOCH:STEP` in an environment variable:
/// `NER_TRAIN_INJECT_NAN` makes the loss of that step (1-based) NaN, and
/// `NER_TRAIN_INJECT_STOP` raises the stop flag once STEP steps of EPOCH are
/// done, as a signal arriving there would. Both exercise the real paths.
fn injected_fault(name: &str) -> Result<Option<(usize, usize)>, TrainError> {
    let Ok(value) = std::env::var(name) else {
        return Ok(None);
    };
    let parsed = value
        .split_once(':')
        .and_then(|(e, s)| Some((e.parse().ok()?, s.parse().ok()?)));
    parsed
        .map(Some)
        .ok_or_else(|| TrainError::Mismatch(format!("{name} must be EPOCH:STEP, found '{value}'")))
}

/// Removes temporary files that a killed run left in the model folder (the
/// lock is held, so no other run is writing them).
fn remove_stale_temporaries(dir: &Path) -> Result<(), TrainError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ner_core::Error::io(dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp") {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| ner_core::Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Takes the model folder's lock (`train.lock`), held until the returned
/// file is dropped: two trainings into one folder would overwrite each
/// other's checkpoints.
fn lock_model_dir(dir: &Path) -> Result<std::fs::File, TrainError> {
    use std::io::{Read, Seek, Write};
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| ner_core::Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {
            let pid = std::process::id().to_string();
            let written = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(pid.as_bytes()));
            written.map_err(|e| ner_core::Error::io(&path, e))?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(TrainError::Locked {
                dir: dir.to_path_buf(),
                holder: holder.trim().to_string(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(ner_core::Error::io(&path, e).into()),
    }
}

fn counted_ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Scores a model on encoded batches.
pub fn evaluate(
    tagger: &Tagger,
    batches: &[BatchTensors],
    tags: &TagSet,
) -> Result<Scores, TrainError> {
    let tag_names = tags.data_tags();
    let mut scores = Scores::new(tag_names.len());
    for batch in batches {
        let predicted = tagger.predict(batch).map_err(TrainError::Torch)?;
        let gold: Vec<i64> = Vec::try_from(&batch.tag_ids.to_device(Device::Cpu).view([-1]))
            .map_err(TrainError::Torch)?;
        let width = batch.tag_ids.size()[1] as usize;
        for (row, path) in predicted.iter().enumerate() {
            let g: Vec<usize> = gold[row * width..row * width + path.len()]
                .iter()
                .map(|&t| t as usize)
                .collect();
            let path = tags.to_data(path).map_err(TrainError::Mismatch)?;
            let p: Vec<usize> = path.iter().map(|&t| t as usize).collect();
            scores.add(&g, &p, tag_names);
        }
    }
    Ok(scores)
}

fn load(split: &EncodedSplit, device: Device) -> Result<Vec<BatchTensors>, TrainError> {
    Ok(split.iter(device).collect::<Result<Vec<_>, _>>()?)
}

/// Refuses batches encoded with other vocabulary files than the ones given.
fn check_encoded_with(
    split: &EncodedSplit,
    vocab: &Path,
    sha: &str,
    key: &str,
) -> Result<(), TrainError> {
    let recorded = split.file().metadata().require(split.file().path(), key)?;
    if recorded != sha {
        return Err(TrainError::Mismatch(format!(
            "{} was encoded with another vocabulary than {} ({key} {} in the batches, {} on disk); \
             rerun `make data` so both come from the same run",
            split.file().path().display(),
            vocab.display(),
            &recorded[..recorded.len().min(12)],
            &sha[..sha.len().min(12)]
        )));
    }
    Ok(())
}

/// Saves weights as safetensors, atomically (temporary name, then rename).
fn save_weights(vs: &nn::VarStore, path: &Path) -> Result<(), TrainError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp.safetensors",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    vs.save(&tmp).map_err(TrainError::Torch)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ner_core::Error::io(path, e)
    })?;
    Ok(())
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
